package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/internal/httpx"
	"github.com/dawn-ml/dawn/tracking"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Permission levels, named as MLflow's auth plugin names them.
const (
	Read   = "READ"
	Edit   = "EDIT"
	Manage = "MANAGE"
)

// Resource kinds a rule is about.
const (
	KindExperiment = "experiment"
	KindModel      = "registered_model"
	KindNone       = "" // any signed-in user (static files, lists filtered per row)
)

// Authorizer decides whether the request's user holds need on a resource
// of kind (an experiment id or a registered model name). The tracking
// server supplies one built on its auth guard; nil allows everything.
type Authorizer func(r *http.Request, kind, resource, need string) bool

// Options configure the console.
type Options struct {
	Store     tracking.Store
	Artifacts artifact.Repo // the proxy's repo; nil when not served
	// Prefix is the path the console and API are served under behind a
	// proxy (MLflow's --static-prefix), e.g. "/mlflow"; "" for the root.
	Prefix  string
	Version string
	Allow   Authorizer
	Logger  *slog.Logger
}

// route is one console page or action and the permission it needs.
type route struct {
	pattern string
	kind    string // KindExperiment, KindModel or KindNone
	need    string // Read, Edit or Manage ("" with KindNone)
	// resource names the path value (or form field) holding the resource.
	resource string
	h        func(*console, http.ResponseWriter, *http.Request) error
}

// routes is the permission table of the console: every route, the resource
// it touches and the level it needs. GET pages need READ, changes need
// EDIT or MANAGE as the REST API's rules do for the same change.
var routes = []route{
	{"GET /{$}", KindNone, "", "", (*console).experiments},
	{"POST /experiments/create", KindNone, "", "", (*console).createExperiment},
	{"POST /experiments/{id}/rename", KindExperiment, Edit, "id", (*console).renameExperiment},
	{"POST /experiments/{id}/delete", KindExperiment, Manage, "id", (*console).deleteExperiment},
	{"POST /experiments/{id}/restore", KindExperiment, Manage, "id", (*console).restoreExperiment},
	{"GET /experiments/{id}", KindExperiment, Read, "id", (*console).runsPage},
	{"GET /runs/{run}", KindExperiment, Read, "run", (*console).runPage},
	{"GET /runs/{run}/artifact", KindExperiment, Read, "run", (*console).artifactPreview},
	{"GET /runs/{run}/artifact/raw", KindExperiment, Read, "run", (*console).artifactRaw},
	{"GET /runs/{run}/chart", KindExperiment, Read, "run", (*console).chartPage},
	{"GET /runs/{run}/explain", KindExperiment, Read, "run", (*console).explainPage},
	{"GET /runs/{run}/label", KindExperiment, Read, "run", (*console).labelPage},
	{"POST /runs/{run}/label/save", KindExperiment, Edit, "run", (*console).saveLFs},
	{"GET /data/history", KindExperiment, Read, "runs", (*console).historyJSON},
	{"GET /compare", KindExperiment, Read, "runs", (*console).comparePage},
	{"GET /models", KindNone, "", "", (*console).modelsPage},
	{"GET /models/{name}", KindModel, Read, "name", (*console).modelPage},
	{"POST /models/{name}/alias", KindModel, Edit, "name", (*console).setAlias},
	{"POST /models/{name}/alias/delete", KindModel, Edit, "name", (*console).deleteAlias},
	{"POST /models/{name}/tag", KindModel, Edit, "name", (*console).setModelTag},
	{"POST /models/{name}/tag/delete", KindModel, Edit, "name", (*console).deleteModelTag},
	{"POST /models/{name}/description", KindModel, Edit, "name", (*console).setModelDescription},
	{"POST /models/{name}/versions/{version}/tag", KindModel, Edit, "name", (*console).setVersionTag},
	{"POST /models/{name}/versions/{version}/description", KindModel, Edit, "name", (*console).setVersionDescription},
}

type console struct {
	Options
	pages map[string]*template.Template
}

// New returns the console's handler. Mount it at / (or under Prefix with
// the prefix stripped); it serves its static files under /static/.
func New(o Options) (http.Handler, error) {
	if o.Store == nil {
		return nil, errors.New("web: new: no store")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Prefix = strings.TrimRight(o.Prefix, "/")
	c := &console{Options: o}
	if err := c.parse(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.HandleFunc(rt.pattern, c.guard(rt))
	}
	// Anything else answers as the REST API does for unknown endpoints,
	// which clients probing the server expect.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, tracking.CodeEndpointNotFound, "No endpoint %s %s", r.Method, r.URL.Path))
	})
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Vendored files never change within a build: cache for a day.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})))
	// State changes must come from the console's own pages: browsers send
	// Sec-Fetch-Site/Origin, and cross-site POSTs are refused with 403.
	return http.NewCrossOriginProtection().Handler(mux), nil
}

// Routes lists the console's patterns with their permission rules, for
// docs and for the guard that wraps the server.
func Routes() []struct{ Pattern, Kind, Need string } {
	out := make([]struct{ Pattern, Kind, Need string }, len(routes))
	for i, r := range routes {
		out[i] = struct{ Pattern, Kind, Need string }{r.pattern, r.kind, r.need}
	}
	return out
}

// guard checks rt's permission, then runs it and renders its error.
func (c *console) guard(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if rt.kind != KindNone && c.Allow != nil {
			res := c.resources(r, rt)
			if len(res) == 0 {
				c.fail(w, r, badRequest("Missing %s", rt.resource))
				return
			}
			for _, res := range res {
				if !c.Allow(r, rt.kind, res, rt.need) {
					c.fail(w, r, httpx.Errorf(http.StatusForbidden, tracking.CodePermissionDenied, "Permission denied: %s needs %s on %s %s.", rt.pattern, rt.need, rt.kind, res))
					return
				}
			}
		}
		if err := rt.h(c, w, r); err != nil {
			c.fail(w, r, err)
		}
	}
}

// resources are the ids a request touches: experiments of runs are looked
// up, so a run page needs READ on its experiment.
func (c *console) resources(r *http.Request, rt route) []string {
	var vals []string
	if v := r.PathValue(rt.resource); v != "" {
		vals = []string{v}
	} else {
		// Every value counts: the compare form sends runs=A&runs=B.
		vals = strings.Split(strings.Join(r.URL.Query()[rt.resource], ","), ",")
	}
	if rt.kind != KindExperiment || (rt.resource != "run" && rt.resource != "runs") {
		return vals
	}
	exps := []string{}
	for _, id := range vals {
		if id == "" {
			continue
		}
		run, err := c.Store.GetRun(r.Context(), id)
		if err != nil {
			exps = append(exps, "") // unknown run: the handler answers 404
			continue
		}
		exps = append(exps, run.Info.ExperimentID)
	}
	return exps
}

// can reports whether the user may use a control; templates call it so
// READ users see no edit controls.
func (c *console) can(r *http.Request, kind, resource, need string) bool {
	return c.Allow == nil || c.Allow(r, kind, resource, need)
}

// fail renders err as an error page with its status: 4xx for the client's
// mistakes (a bad filter, a missing run), 500 only for the server's.
func (c *console) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	msg := "internal error"
	var he *httpx.Error
	switch {
	case errors.As(err, &he):
		status, msg = he.Status, he.Message
	case errors.Is(err, artifact.ErrNotFound):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, artifact.ErrInvalidPath):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, context.Canceled):
		return
	}
	if status >= 500 {
		c.Logger.Error("web: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	c.render(w, r, "error", "Error", map[string]any{"Status": status, "StatusText": http.StatusText(status), "Message": msg}, status)
}

func badRequest(format string, args ...any) error {
	return tracking.InvalidParameterf(format, args...)
}

// page is what every template gets.
type page struct {
	Title   string
	Prefix  string
	Version string
	Path    string
	Data    any
}

// render writes page name with status (0 is 200).
func (c *console) render(w http.ResponseWriter, r *http.Request, name, title string, data any, status int) {
	t, ok := c.pages[name]
	if !ok {
		http.Error(w, "web: no template "+name, http.StatusInternalServerError)
		return
	}
	// Render into a buffer so a template error is a clean 500, not half
	// a page.
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", page{Title: title, Prefix: c.Prefix, Version: c.Version, Path: r.URL.Path, Data: data}); err != nil {
		c.Logger.Error("web: render", "page", name, "err", err)
		http.Error(w, "web: render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if status != 0 {
		w.WriteHeader(status)
	}
	w.Write(buf.Bytes())
}

// redirect answers a form POST with 303 to a console path.
func (c *console) redirect(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, c.Prefix+path, http.StatusSeeOther)
}

// form parses a POST body with a size bound.
func form(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return badRequest("web: form: %v", err)
	}
	return nil
}

// maxFormBytes bounds a form POST (a description or tag value is at most
// a few KB in MLflow; 1 MiB leaves room).
const maxFormBytes = 1 << 20

func (c *console) parse() error {
	funcs := template.FuncMap{
		"q":        url.QueryEscape,
		"path":     url.PathEscape,
		"markdown": func(s string) template.HTML { return Markdown(s) },
		"ms":       fmtMillis,
		"metric":   func(v tracking.Float) string { return fmtMetric(float64(v)) },
		"join":     strings.Join,
		"add":      func(a, b int) int { return a + b },
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		},
		"contains": func(list []string, s string) bool {
			for _, x := range list {
				if x == s {
					return true
				}
			}
			return false
		},
	}
	base, err := template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("web: templates: %w", err)
	}
	names, _ := fs.Glob(templateFS, "templates/*.html")
	c.pages = map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return fmt.Errorf("web: template %s: %w", name, err)
		}
		c.pages[name] = t
	}
	return nil
}

// consolePrefixes are the first path segments the console serves.
var consolePrefixes = []string{"/experiments/", "/runs/", "/models", "/compare", "/data/", "/static/"}

// IsConsolePath reports whether p (prefix stripped) is one of the
// console's paths, which check permissions per resource themselves.
func IsConsolePath(p string) bool {
	if p == "/" {
		return true
	}
	for _, pre := range consolePrefixes {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}
