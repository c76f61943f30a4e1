package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/dawn-ml/dawn/internal/httpx"
	"github.com/dawn-ml/dawn/tracking"
)

// Guard wraps the tracking API with authentication and permission checks.
type Guard struct {
	Users *Store
	Data  tracking.Store
	// Default applies where a user has no explicit permission (MLflow's
	// default_permission, READ unless configured).
	Default string
	Log     *slog.Logger
	// Pass, when set, names non-API paths (the web console's) that any
	// signed-in user may reach: they check permissions per resource.
	Pass func(path string) bool
}

type rule struct {
	kind string // Experiment or RegisteredModel; "" means any signed-in user
	need string
}

// rules maps an API endpoint (method + path after /api/2.0/mlflow/) to the
// permission it needs on the resource the request names.
var rules = map[string]rule{}

func init() {
	add := func(kind, need string, eps ...string) {
		for _, e := range eps {
			rules[e] = rule{kind, need}
		}
	}
	add(Experiment, Read, "GET experiments/get", "GET experiments/get-by-name", "GET runs/get", "GET metrics/get-history",
		"GET metrics/get-history-bulk-interval", "GET artifacts/list", "GET experiments/permissions/get")
	add(Experiment, Edit, "POST experiments/update", "POST experiments/set-experiment-tag", "POST experiments/delete-experiment-tag",
		"POST runs/create", "POST runs/update", "POST runs/log-metric", "POST runs/log-parameter", "POST runs/set-tag",
		"POST runs/delete-tag", "POST runs/log-batch", "POST runs/log-model", "POST runs/log-inputs")
	add(Experiment, Manage, "POST experiments/delete", "POST experiments/restore", "POST runs/delete", "POST runs/restore",
		"POST experiments/permissions/create", "PATCH experiments/permissions/update", "DELETE experiments/permissions/delete")
	add(RegisteredModel, Read, "GET registered-models/get", "GET registered-models/get-latest-versions", "POST registered-models/get-latest-versions",
		"GET registered-models/alias", "GET model-versions/get", "GET model-versions/get-download-uri", "GET registered-models/permissions/get")
	add(RegisteredModel, Edit, "PATCH registered-models/update", "POST registered-models/set-tag", "DELETE registered-models/delete-tag",
		"POST registered-models/alias", "DELETE registered-models/alias", "POST model-versions/create", "PATCH model-versions/update",
		"POST model-versions/transition-stage", "POST model-versions/set-tag", "DELETE model-versions/delete-tag")
	add(RegisteredModel, Manage, "DELETE registered-models/delete", "POST registered-models/rename", "DELETE model-versions/delete",
		"POST registered-models/permissions/create", "PATCH registered-models/permissions/update", "DELETE registered-models/permissions/delete")
	add("", "", "POST experiments/create", "POST experiments/search", "GET experiments/search", "POST runs/search", "GET runs/search",
		"POST registered-models/create", "GET registered-models/search", "GET model-versions/search")
}

func deny(w http.ResponseWriter, status int, code, msg string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="mlflow"`)
	}
	httpx.WriteError(w, httpx.Errorf(status, code, "%s", msg))
}

// params reads the request's parameters (query or JSON body) and restores
// the body for the next handler.
func params(r *http.Request) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range r.URL.Query() {
		if len(v) == 1 {
			out[k] = v[0]
		} else {
			out[k] = v
		}
	}
	if r.Body == nil || r.Method == http.MethodGet {
		return out, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, tracking.MaxRequestBytes+1))
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	if len(bytes.TrimSpace(b)) > 0 {
		json.Unmarshal(b, &out) // malformed bodies are the API's to reject
	}
	return out, nil
}

func str(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
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

// experimentOf finds the experiment a request is about.
func (g *Guard) experimentOf(ctx context.Context, endpoint string, p map[string]any) (string, error) {
	if id := str(p, "experiment_id"); id != "" {
		return id, nil
	}
	if name := str(p, "experiment_name"); name != "" {
		e, err := g.Data.GetExperimentByName(ctx, name)
		if err != nil {
			return "", err
		}
		return e.ExperimentID, nil
	}
	runID := str(p, "run_id", "run_uuid")
	if runID == "" {
		if ids, ok := p["run_ids"].([]any); ok && len(ids) > 0 {
			runID, _ = ids[0].(string)
		} else if ids, ok := p["run_ids"].([]string); ok && len(ids) > 0 {
			runID = ids[0]
		}
	}
	if runID != "" {
		r, err := g.Data.GetRun(ctx, runID)
		if err != nil {
			return "", err
		}
		return r.Info.ExperimentID, nil
	}
	if endpoint == "POST runs/create" {
		return "0", nil
	}
	return "", nil
}

// Wrap returns next guarded. /health and /version stay open.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	if g.Default == "" {
		g.Default = Read
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" || r.URL.Path == "/version" {
			next.ServeHTTP(w, r)
			return
		}
		name, pass, ok := r.BasicAuth()
		if !ok {
			deny(w, http.StatusUnauthorized, tracking.CodeUnauthenticated, "You are not authenticated. Please provide a username and password with HTTP basic auth.")
			return
		}
		u, ok := g.Users.Authenticate(r.Context(), name, pass)
		if !ok {
			deny(w, http.StatusUnauthorized, tracking.CodeUnauthenticated, "Incorrect username or password.")
			return
		}
		path := r.URL.Path
		var endpoint string
		for _, pfx := range []string{"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"} {
			if rest, ok := strings.CutPrefix(path, pfx); ok {
				endpoint = r.Method + " " + rest
			}
		}
		if strings.Contains(path, "/mlflow-artifacts/") {
			g.artifacts(w, r, u, next)
			return
		}
		if endpoint == "" {
			if !u.IsAdmin && path != "/" && (g.Pass == nil || !g.Pass(path)) {
				deny(w, http.StatusForbidden, tracking.CodePermissionDenied, "Permission denied.")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		p, err := params(r)
		if err != nil {
			httpx.WriteError(w, tracking.InvalidParameterf("Could not read request: %v", err))
			return
		}
		if strings.Contains(endpoint, " users/") {
			g.users(w, r, u, endpoint, p)
			return
		}
		if strings.Contains(endpoint, "/permissions/") {
			g.permissions(w, r, u, endpoint, p)
			return
		}
		rl, known := rules[endpoint]
		if !known {
			next.ServeHTTP(w, r) // the API answers unknown endpoints
			return
		}
		if rl.kind != "" && !u.IsAdmin {
			var resource string
			if rl.kind == Experiment {
				resource, err = g.experimentOf(r.Context(), endpoint, p)
			} else {
				resource = str(p, "name")
			}
			if err != nil {
				httpx.WriteError(w, err)
				return
			}
			if resource != "" && !allows(g.permission(r.Context(), u, rl.kind, resource), rl.need) {
				deny(w, http.StatusForbidden, tracking.CodePermissionDenied, "Permission denied.")
				return
			}
		}
		switch endpoint {
		case "POST experiments/create", "POST registered-models/create", "POST registered-models/rename",
			"POST experiments/search", "GET experiments/search", "POST runs/search", "GET runs/search",
			"GET registered-models/search", "GET model-versions/search":
			g.after(w, r, u, endpoint, p, next)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// recorder buffers a response so it can be inspected or rewritten.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (rc *recorder) Header() http.Header         { return rc.h }
func (rc *recorder) WriteHeader(s int)           { rc.status = s }
func (rc *recorder) Write(b []byte) (int, error) { return rc.body.Write(b) }

// after runs the request, then grants creators MANAGE, moves permissions
// on rename, and filters search results to what the user may read.
func (g *Guard) after(w http.ResponseWriter, r *http.Request, u User, endpoint string, p map[string]any, next http.Handler) {
	rc := &recorder{h: http.Header{}, status: 200}
	next.ServeHTTP(rc, r)
	body := rc.body.Bytes()
	if rc.status == 200 {
		var resp map[string]any
		json.Unmarshal(body, &resp)
		ctx := r.Context()
		switch endpoint {
		case "POST experiments/create":
			if id, _ := resp["experiment_id"].(string); id != "" {
				g.Users.SetPermission(ctx, Experiment, id, u.ID, Manage)
			}
		case "POST registered-models/create":
			g.Users.SetPermission(ctx, RegisteredModel, str(p, "name"), u.ID, Manage)
		case "POST registered-models/rename":
			g.Users.RenameModel(ctx, str(p, "name"), str(p, "new_name"))
		default:
			if !u.IsAdmin {
				field, kind, idOf := "", "", func(map[string]any) string { return "" }
				switch {
				case strings.HasSuffix(endpoint, "experiments/search"):
					field, kind, idOf = "experiments", Experiment, func(m map[string]any) string { return str(m, "experiment_id") }
				case strings.HasSuffix(endpoint, "runs/search"):
					field, kind, idOf = "runs", Experiment, func(m map[string]any) string {
						info, _ := m["info"].(map[string]any)
						return str(info, "experiment_id")
					}
				case strings.HasSuffix(endpoint, "registered-models/search"):
					field, kind, idOf = "registered_models", RegisteredModel, func(m map[string]any) string { return str(m, "name") }
				case strings.HasSuffix(endpoint, "model-versions/search"):
					field, kind, idOf = "model_versions", RegisteredModel, func(m map[string]any) string { return str(m, "name") }
				}
				items, _ := resp[field].([]any)
				kept := items[:0]
				for _, it := range items {
					m, _ := it.(map[string]any)
					if allows(g.permission(ctx, u, kind, idOf(m)), Read) {
						kept = append(kept, it)
					}
				}
				if len(kept) > 0 {
					resp[field] = kept
				} else {
					delete(resp, field)
				}
				body, _ = json.Marshal(resp)
			}
		}
	}
	for k, v := range rc.h {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rc.status)
	w.Write(body)
}

// artifacts guards the artifact proxy: the first path segment is the
// experiment id (mlflow-artifacts:/<exp>/<run>/artifacts/...).
func (g *Guard) artifacts(w http.ResponseWriter, r *http.Request, u User, next http.Handler) {
	if u.IsAdmin {
		next.ServeHTTP(w, r)
		return
	}
	_, rest, _ := strings.Cut(r.URL.Path, "/mlflow-artifacts/")
	var p string
	switch {
	case strings.HasPrefix(rest, "artifacts/"):
		p = strings.TrimPrefix(rest, "artifacts/")
	case strings.HasPrefix(rest, "mpu/"):
		p = rest[strings.Index(rest[4:], "/")+5:]
	default:
		p = r.URL.Query().Get("path")
	}
	exp, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	need := Read
	switch r.Method {
	case http.MethodPut, http.MethodPost:
		need = Edit
	case http.MethodDelete:
		need = Manage
	}
	if exp == "" || !allows(g.permission(r.Context(), u, Experiment, exp), need) {
		deny(w, http.StatusForbidden, tracking.CodePermissionDenied, "Permission denied.")
		return
	}
	next.ServeHTTP(w, r)
}

type userJSON struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	IsAdmin  bool   `json:"is_admin"`
}

func boolParam(p map[string]any, k string) bool {
	switch v := p[k].(type) {
	case bool:
		return v
	case string:
		return v == "true" || v == "True" || v == "1"
	}
	return false
}

// users serves MLflow's users/ endpoints.
func (g *Guard) users(w http.ResponseWriter, r *http.Request, u User, endpoint string, p map[string]any) {
	ctx := r.Context()
	name := str(p, "username")
	self := name == u.Username
	fail := func(err error) {
		switch {
		case errors.Is(err, ErrNoUser):
			httpx.WriteError(w, tracking.NotFoundf("User with username=%s not found", name))
		case errors.Is(err, ErrUserExists):
			httpx.WriteError(w, tracking.AlreadyExistsf("User '%s' already exists.", name))
		default:
			httpx.WriteError(w, tracking.InvalidParameterf("%v", err))
		}
	}
	if name == "" {
		httpx.WriteError(w, tracking.InvalidParameterf("Missing value for required parameter 'username'."))
		return
	}
	switch endpoint {
	case "POST users/create", "PATCH users/update-admin", "DELETE users/delete":
		if !u.IsAdmin {
			deny(w, http.StatusForbidden, tracking.CodePermissionDenied, "Permission denied.")
			return
		}
	case "GET users/get", "PATCH users/update-password":
		if !u.IsAdmin && !self {
			deny(w, http.StatusForbidden, tracking.CodePermissionDenied, "Permission denied.")
			return
		}
	default:
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, tracking.CodeEndpointNotFound, "No API endpoint %s", endpoint))
		return
	}
	switch endpoint {
	case "POST users/create":
		nu, err := g.Users.CreateUser(ctx, name, str(p, "password"), false)
		if err != nil {
			fail(err)
			return
		}
		httpx.WriteJSON(w, 200, map[string]any{"user": userJSON(nu)})
	case "GET users/get":
		gu, err := g.Users.GetUser(ctx, name)
		if err != nil {
			fail(err)
			return
		}
		httpx.WriteJSON(w, 200, map[string]any{"user": userJSON(gu)})
	case "PATCH users/update-password":
		if err := g.Users.UpdatePassword(ctx, name, str(p, "password")); err != nil {
			fail(err)
			return
		}
		httpx.WriteJSON(w, 200, struct{}{})
	case "PATCH users/update-admin":
		if err := g.Users.UpdateAdmin(ctx, name, boolParam(p, "is_admin")); err != nil {
			fail(err)
			return
		}
		httpx.WriteJSON(w, 200, struct{}{})
	case "DELETE users/delete":
		if err := g.Users.DeleteUser(ctx, name); err != nil {
			fail(err)
			return
		}
		httpx.WriteJSON(w, 200, struct{}{})
	}
}

// permissions serves experiments/permissions/* and
// registered-models/permissions/*; managing needs MANAGE on the resource.
func (g *Guard) permissions(w http.ResponseWriter, r *http.Request, u User, endpoint string, p map[string]any) {
	ctx := r.Context()
	kind, resource, field := Experiment, str(p, "experiment_id"), "experiment_permission"
	if strings.Contains(endpoint, "registered-models/") {
		kind, resource, field = RegisteredModel, str(p, "name"), "registered_model_permission"
	}
	rl, ok := rules[endpoint]
	if !ok {
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, tracking.CodeEndpointNotFound, "No API endpoint %s", endpoint))
		return
	}
	if resource == "" {
		httpx.WriteError(w, tracking.InvalidParameterf("Missing value for the resource of %s", endpoint))
		return
	}
	if !allows(g.permission(ctx, u, kind, resource), rl.need) {
		deny(w, http.StatusForbidden, tracking.CodePermissionDenied, "Permission denied.")
		return
	}
	target, err := g.Users.GetUser(ctx, str(p, "username"))
	if err != nil {
		httpx.WriteError(w, tracking.NotFoundf("User with username=%s not found", str(p, "username")))
		return
	}
	perm := str(p, "permission")
	switch {
	case strings.HasSuffix(endpoint, "/get"):
		have, err := g.Users.Permission(ctx, kind, resource, target.ID)
		if err != nil || have == "" {
			httpx.WriteError(w, tracking.NotFoundf("%s permission for user %s on %s not found", kind, target.Username, resource))
			return
		}
		key := "experiment_id"
		if kind == RegisteredModel {
			key = "name"
		}
		httpx.WriteJSON(w, 200, map[string]any{field: map[string]any{key: resource, "user_id": target.ID, "permission": have}})
		return
	case strings.HasSuffix(endpoint, "/delete"):
		err = g.Users.DeletePermission(ctx, kind, resource, target.ID)
	default:
		if !ValidPermission(perm) {
			httpx.WriteError(w, tracking.InvalidParameterf("Invalid permission '%s'. Valid permissions are: READ, EDIT, MANAGE, NO_PERMISSIONS", perm))
			return
		}
		err = g.Users.SetPermission(ctx, kind, resource, target.ID, perm)
	}
	if err != nil {
		httpx.WriteError(w, err)
		return
	}
	httpx.WriteJSON(w, 200, struct{}{})
}
