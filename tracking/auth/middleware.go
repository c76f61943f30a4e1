package auth

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/dawn-ml/dawn/internal/httpx"
	"github.com/dawn-ml/dawn/tracking"
)

// Guard authenticates every request (HTTP basic auth) and serves the
// users/ and permissions/ endpoints; it is also the tracking API's
// tracking.Authorizer, which makes the one permission decision of each
// API request on the resource the handler resolved (see tracking/authz.go).
type Guard struct {
	Users *Store
	Data  tracking.Store
	// Default applies where a user has no explicit permission (MLflow's
	// default_permission, READ unless configured).
	Default string
	Log     *slog.Logger
}

var _ tracking.Authorizer = (*Guard)(nil)

type userKey struct{}

// UserOf returns the signed-in user of a request context.
func UserOf(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// Route is one endpoint the Guard serves itself, with its rule.
type Route struct {
	Method, Path string // Path under /api/2.0/mlflow/
	Rule         tracking.Rule
	serve        func(g *Guard, w http.ResponseWriter, r *http.Request, u User)
}

// routes are the endpoints the Guard serves: users/ (admins, or the user
// themself where MLflow allows it) and permissions/ (MANAGE on the
// resource, for reading them too: whether another user exists is not
// told to someone who may not manage).
var routes = []Route{
	{"POST", "users/create", tracking.AdminOnly, (*Guard).createUser},
	{"GET", "users/get", tracking.SignedIn, (*Guard).getUser},
	{"PATCH", "users/update-password", tracking.SignedIn, (*Guard).updatePassword},
	{"PATCH", "users/update-admin", tracking.AdminOnly, (*Guard).updateAdmin},
	{"DELETE", "users/delete", tracking.AdminOnly, (*Guard).deleteUser},
	{"POST", "experiments/permissions/create", tracking.NeedManage, (*Guard).setPermission},
	{"GET", "experiments/permissions/get", tracking.NeedManage, (*Guard).getPermission},
	{"PATCH", "experiments/permissions/update", tracking.NeedManage, (*Guard).setPermission},
	{"DELETE", "experiments/permissions/delete", tracking.NeedManage, (*Guard).deletePermission},
	{"POST", "registered-models/permissions/create", tracking.NeedManage, (*Guard).setPermission},
	{"GET", "registered-models/permissions/get", tracking.NeedManage, (*Guard).getPermission},
	{"PATCH", "registered-models/permissions/update", tracking.NeedManage, (*Guard).setPermission},
	{"DELETE", "registered-models/permissions/delete", tracking.NeedManage, (*Guard).deletePermission},
}

// Routes lists the endpoints the Guard serves itself.
func Routes() []tracking.RouteInfo {
	out := make([]tracking.RouteInfo, len(routes))
	for i, r := range routes {
		out[i] = tracking.RouteInfo{Method: r.Method, Path: r.Path, Rule: r.Rule}
	}
	return out
}

// own finds the Guard's route for a request, or reports that the path is
// one of the Guard's with a method it does not serve.
func own(r *http.Request) (rt *Route, ours bool) {
	var rest string
	for _, pfx := range []string{"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"} {
		if s, ok := strings.CutPrefix(r.URL.Path, pfx); ok {
			rest, ours = s, true
		}
	}
	if !ours {
		return nil, false
	}
	ours = false
	for i := range routes {
		if routes[i].Path != rest {
			continue
		}
		ours = true
		if routes[i].Method == r.Method || (r.Method == http.MethodHead && routes[i].Method == http.MethodGet) {
			return &routes[i], true
		}
	}
	return nil, ours
}

func deny(w http.ResponseWriter, status int, code, msg string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="mlflow"`)
	}
	httpx.WriteError(w, httpx.Errorf(status, code, "%s", msg))
}

func forbidden(w http.ResponseWriter) {
	deny(w, http.StatusForbidden, tracking.CodePermissionDenied, "Permission denied.")
}

// Public reports whether a path is served without credentials.
func Public(path string) bool { return path == "/health" || path == "/version" }

// Wrap returns next behind authentication: /health and /version stay
// open; every other request needs a valid user, who is put in the
// request's context for the API's permission checks.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	if g.Default == "" {
		g.Default = Read
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Public(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		name, pass, ok := r.BasicAuth()
		if !ok {
			deny(w, http.StatusUnauthorized, tracking.CodeUnauthenticated, "You are not authenticated. Please provide a username and password with HTTP basic auth.")
			return
		}
		addr, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			addr = r.RemoteAddr
		}
		u, err := g.Users.Authenticate(r.Context(), name, pass, addr)
		switch {
		case errors.Is(err, ErrLoginBusy):
			w.Header().Set("Retry-After", "1")
			deny(w, http.StatusTooManyRequests, tracking.CodeRequestLimitExceeded, "Too many logins are being checked; retry shortly.")
			return
		case errors.Is(err, ErrTooManyFailures):
			w.Header().Set("Retry-After", "60")
			deny(w, http.StatusTooManyRequests, tracking.CodeRequestLimitExceeded, "Too many failed logins; retry later.")
			return
		case err != nil:
			deny(w, http.StatusUnauthorized, tracking.CodeUnauthenticated, "Incorrect username or password.")
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
		if rt, ours := own(r); rt != nil {
			if rt.Rule == tracking.AdminOnly && !u.IsAdmin {
				forbidden(w)
				return
			}
			rt.serve(g, w, r, u)
			return
		} else if ours {
			httpx.WriteError(w, httpx.Errorf(http.StatusMethodNotAllowed, tracking.CodeMethodNotAllowed, "Method %s is not allowed for %s", r.Method, r.URL.Path))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// permission is the user's effective permission on a resource.
func (g *Guard) permission(ctx context.Context, u User, kind, resource string) string {
	if u.IsAdmin {
		return Manage
	}
	p, err := g.Users.Permission(ctx, kind, resource, u.ID)
	if err != nil || p == "" {
		return g.Default
	}
	return p
}

// Allowed implements tracking.Authorizer.
func (g *Guard) Allowed(ctx context.Context, kind, id string, need tracking.Rule) bool {
	u, ok := UserOf(ctx)
	if !ok {
		return false
	}
	if kind == Experiment && !tracking.CanonicalID(id) {
		return false
	}
	return allows(g.permission(ctx, u, kind, id), string(need))
}

// IsAdmin implements tracking.Authorizer.
func (g *Guard) IsAdmin(ctx context.Context) bool {
	u, ok := UserOf(ctx)
	return ok && u.IsAdmin
}

// Created implements tracking.Authorizer: the creator gets MANAGE.
func (g *Guard) Created(ctx context.Context, kind, id string) error {
	u, ok := UserOf(ctx)
	if !ok {
		return nil
	}
	return g.Users.SetPermission(ctx, kind, id, u.ID, Manage)
}

// Renamed implements tracking.Authorizer.
func (g *Guard) Renamed(ctx context.Context, from, to string) error {
	return g.Users.RenameModel(ctx, from, to)
}

// Deleted implements tracking.Authorizer.
func (g *Guard) Deleted(ctx context.Context, kind, id string) error {
	return g.Users.DeletePermissions(ctx, kind, id)
}

type userJSON struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	IsAdmin  bool   `json:"is_admin"`
}

// flexBool is a boolean given as JSON true/false or as a query string.
type flexBool bool

func (b *flexBool) UnmarshalJSON(raw []byte) error {
	switch strings.Trim(string(raw), `"`) {
	case "true", "True", "1":
		*b = true
	case "false", "False", "0", "null":
		*b = false
	default:
		return errors.New("not a boolean")
	}
	return nil
}

type userReq struct {
	Username string   `json:"username"`
	Password string   `json:"password"`
	IsAdmin  flexBool `json:"is_admin"`
}

// decodeUser decodes a users/ request the way the API decodes its own.
func decodeUser(w http.ResponseWriter, r *http.Request) (userReq, bool) {
	var req userReq
	if err := tracking.DecodeRequest(w, r, &req); err != nil {
		httpx.WriteError(w, err)
		return req, false
	}
	if req.Username == "" {
		httpx.WriteError(w, tracking.InvalidParameterf("Missing value for required parameter 'username'."))
		return req, false
	}
	return req, true
}

func (g *Guard) userError(w http.ResponseWriter, name string, err error) {
	switch {
	case errors.Is(err, ErrNoUser):
		httpx.WriteError(w, tracking.NotFoundf("User with username=%s not found", name))
	case errors.Is(err, ErrUserExists):
		httpx.WriteError(w, tracking.AlreadyExistsf("User '%s' already exists.", name))
	default:
		httpx.WriteError(w, tracking.InvalidParameterf("%v", err))
	}
}

func (g *Guard) createUser(w http.ResponseWriter, r *http.Request, u User) {
	req, ok := decodeUser(w, r)
	if !ok {
		return
	}
	nu, err := g.Users.CreateUser(r.Context(), req.Username, req.Password, false)
	if err != nil {
		g.userError(w, req.Username, err)
		return
	}
	httpx.WriteJSON(w, 200, map[string]any{"user": userJSON(nu)})
}

// getUser and updatePassword are for admins and for the user themself;
// anyone else is refused before the name is looked up.
func (g *Guard) getUser(w http.ResponseWriter, r *http.Request, u User) {
	req, ok := decodeUser(w, r)
	if !ok {
		return
	}
	if !u.IsAdmin && req.Username != u.Username {
		forbidden(w)
		return
	}
	gu, err := g.Users.GetUser(r.Context(), req.Username)
	if err != nil {
		g.userError(w, req.Username, err)
		return
	}
	httpx.WriteJSON(w, 200, map[string]any{"user": userJSON(gu)})
}

func (g *Guard) updatePassword(w http.ResponseWriter, r *http.Request, u User) {
	req, ok := decodeUser(w, r)
	if !ok {
		return
	}
	if !u.IsAdmin && req.Username != u.Username {
		forbidden(w)
		return
	}
	if err := g.Users.UpdatePassword(r.Context(), req.Username, req.Password); err != nil {
		g.userError(w, req.Username, err)
		return
	}
	httpx.WriteJSON(w, 200, struct{}{})
}

func (g *Guard) updateAdmin(w http.ResponseWriter, r *http.Request, u User) {
	req, ok := decodeUser(w, r)
	if !ok {
		return
	}
	if err := g.Users.UpdateAdmin(r.Context(), req.Username, bool(req.IsAdmin)); err != nil {
		g.userError(w, req.Username, err)
		return
	}
	httpx.WriteJSON(w, 200, struct{}{})
}

func (g *Guard) deleteUser(w http.ResponseWriter, r *http.Request, u User) {
	req, ok := decodeUser(w, r)
	if !ok {
		return
	}
	if err := g.Users.DeleteUser(r.Context(), req.Username); err != nil {
		g.userError(w, req.Username, err)
		return
	}
	httpx.WriteJSON(w, 200, struct{}{})
}

type permissionReq struct {
	ExperimentID string `json:"experiment_id"`
	Name         string `json:"name"`
	Username     string `json:"username"`
	Permission   string `json:"permission"`
}

// permissionTarget decodes a permissions/ request, checks MANAGE on its
// resource (an existing experiment by canonical id, or a registered model
// name) and only then looks up the user it is about.
func (g *Guard) permissionTarget(w http.ResponseWriter, r *http.Request, u User) (req permissionReq, kind, resource string, target User, ok bool) {
	if err := tracking.DecodeRequest(w, r, &req); err != nil {
		httpx.WriteError(w, err)
		return
	}
	kind, resource = Experiment, req.ExperimentID
	if strings.Contains(r.URL.Path, "/registered-models/") {
		kind, resource = RegisteredModel, req.Name
	}
	if resource == "" {
		httpx.WriteError(w, tracking.InvalidParameterf("Missing value for the %s of %s", map[string]string{Experiment: "experiment_id", RegisteredModel: "name"}[kind], r.URL.Path))
		return
	}
	if kind == Experiment {
		e, err := g.Data.GetExperiment(r.Context(), resource)
		if err != nil {
			httpx.WriteError(w, err)
			return
		}
		resource = e.ExperimentID
	}
	if !allows(g.permission(r.Context(), u, kind, resource), Manage) {
		forbidden(w)
		return
	}
	target, err := g.Users.GetUser(r.Context(), req.Username)
	if err != nil {
		httpx.WriteError(w, tracking.NotFoundf("User with username=%s not found", req.Username))
		return
	}
	return req, kind, resource, target, true
}

func (g *Guard) getPermission(w http.ResponseWriter, r *http.Request, u User) {
	_, kind, resource, target, ok := g.permissionTarget(w, r, u)
	if !ok {
		return
	}
	have, err := g.Users.Permission(r.Context(), kind, resource, target.ID)
	if err != nil || have == "" {
		httpx.WriteError(w, tracking.NotFoundf("%s permission for user %s on %s not found", kind, target.Username, resource))
		return
	}
	key, field := "experiment_id", "experiment_permission"
	if kind == RegisteredModel {
		key, field = "name", "registered_model_permission"
	}
	httpx.WriteJSON(w, 200, map[string]any{field: map[string]any{key: resource, "user_id": target.ID, "permission": have}})
}

func (g *Guard) setPermission(w http.ResponseWriter, r *http.Request, u User) {
	req, kind, resource, target, ok := g.permissionTarget(w, r, u)
	if !ok {
		return
	}
	if !ValidPermission(req.Permission) {
		httpx.WriteError(w, tracking.InvalidParameterf("Invalid permission '%s'. Valid permissions are: READ, EDIT, MANAGE, NO_PERMISSIONS", req.Permission))
		return
	}
	if err := g.Users.SetPermission(r.Context(), kind, resource, target.ID, req.Permission); err != nil {
		httpx.WriteError(w, err)
		return
	}
	httpx.WriteJSON(w, 200, struct{}{})
}

func (g *Guard) deletePermission(w http.ResponseWriter, r *http.Request, u User) {
	_, kind, resource, target, ok := g.permissionTarget(w, r, u)
	if !ok {
		return
	}
	if err := g.Users.DeletePermission(r.Context(), kind, resource, target.ID); err != nil {
		httpx.WriteError(w, err)
		return
	}
	httpx.WriteJSON(w, 200, struct{}{})
}
