package tracking

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/internal/httpx"
)

// ProxyScheme is the artifact URI scheme of the server's artifact proxy.
const ProxyScheme = "mlflow-artifacts:"

// Options configures NewHandler.
type Options struct {
	Store Store
	// Artifacts backs the artifact proxy and artifacts/list for
	// mlflow-artifacts: URIs; nil disables the proxy.
	Artifacts artifact.Repo
	Logger    *slog.Logger
	// RequestTimeout bounds each REST API request through its context
	// (not streams: artifact transfers and metric histories, which may be
	// long): past it the store calls fail and the client gets 503
	// TEMPORARILY_UNAVAILABLE instead of a hung connection. Responses are
	// never buffered. 0 means DefaultRequestTimeout; a negative value
	// disables the deadline.
	RequestTimeout time.Duration
	// Authorizer, when set, decides every request's permission (see
	// authz.go); nil allows everything.
	Authorizer Authorizer
	// ArtifactRoots are the local directories the server reads run
	// artifacts from and lets new experiments put their artifact_location
	// in; a local location outside them is refused. nil allows any
	// directory; an empty (non-nil) list allows none.
	ArtifactRoots []string
	// Webhooks delivers the MLflow webhook messages registry changes
	// queue (it is woken after each change) and sends webhooks/{id}/test;
	// nil leaves messages queued, and tests use MLflow's defaults.
	Webhooks *WebhookDispatcher
	// WebhookSchemes are the URL schemes a webhook may use (MLflow's
	// MLFLOW_WEBHOOK_ALLOWED_SCHEMES); nil means DefaultWebhookSchemes.
	WebhookSchemes []string
}

// DefaultWebhookSchemes is MLflow's default: webhooks post over https only.
var DefaultWebhookSchemes = []string{"https"}

// DefaultRequestTimeout is below the MLflow client's own 120 s request
// timeout, so a stuck request reaches the client as a server error.
const DefaultRequestTimeout = 60 * time.Second

// Search limits: defaults and maxima of max_results.
const (
	DefaultRunResults        = 1000
	MaxRunResults            = 50000
	DefaultExperimentResults = 1000
	MaxExperimentResults     = 50000
	DefaultModelResults      = 100
	MaxModelResults          = 1000
	DefaultVersionResults    = 10000
	MaxVersionResults        = 200000
)

type api struct {
	store          Store
	artifacts      artifact.Repo
	log            *slog.Logger
	authz          Authorizer
	roots          []string
	hooks          *WebhookDispatcher
	webhookSchemes []string
}

// RouteInfo is one route of the API and the rule it is registered with.
type RouteInfo struct {
	// Path is under /api/2.0/mlflow/ (and /ajax-api/2.0/mlflow/); V3 + a
	// path under /api/3.0/mlflow/ (and /ajax-api/3.0/mlflow/); or, starting
	// with "/", a full path served only there (/v1/traces).
	Method, Path string
	Rule         Rule
}

// V3 starts the path of a route of MLflow 3's /api/3.0/mlflow/ API (also
// served under /ajax-api/3.0/mlflow/), e.g. V3+"datasets/create"; other
// route paths are under /api/2.0/mlflow/.
const V3 = "3.0/"

// Mounts returns the full paths a route path is served at: the REST path
// and the UI's /ajax-api/ alias, or a full path alone.
func Mounts(path string) []string {
	switch {
	case strings.HasPrefix(path, V3):
		rest := strings.TrimPrefix(path, V3)
		return []string{"/api/3.0/mlflow/" + rest, "/ajax-api/3.0/mlflow/" + rest}
	case strings.HasPrefix(path, "/"):
		return []string{path}
	}
	return []string{"/api/2.0/mlflow/" + path, "/ajax-api/2.0/mlflow/" + path}
}

// endpoint builds a route's handler for the rule it is registered with.
type endpoint func(rule Rule) http.HandlerFunc

// Routes lists every route NewHandler serves under /api/2.0/mlflow/ with
// its rule.
func Routes() []RouteInfo {
	var out []RouteInfo
	a := &api{}
	collect := func(method, path string, rule Rule, h endpoint) {
		out = append(out, RouteInfo{method, path, rule})
	}
	a.tracking(collect)
	a.registry(collect)
	a.loggedModels(collect)
	a.datasets(collect)
	a.uploads(collect)
	a.webhooks(collect)
	a.evalDatasets(collect)
	a.scorers(collect)
	a.promptLab(collect)
	a.traces(collect)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// NewHandler returns the MLflow REST API under /api/2.0/mlflow/ and
// /ajax-api/2.0/mlflow/ (MLflow 3's RPCs under /api/3.0/mlflow/ and
// /ajax-api/3.0/mlflow/, OTLP span export at /v1/traces), and the
// artifact proxy under
// /api/2.0/mlflow-artifacts/ when Artifacts is set.
func NewHandler(o Options) http.Handler {
	a := &api{store: o.Store, artifacts: o.Artifacts, log: o.Logger, authz: o.Authorizer, hooks: o.Webhooks, webhookSchemes: o.WebhookSchemes}
	if a.webhookSchemes == nil {
		a.webhookSchemes = DefaultWebhookSchemes
	}
	if o.ArtifactRoots != nil {
		a.roots = []string{}
		for _, r := range o.ArtifactRoots {
			a.roots = append(a.roots, filepath.Clean(r))
		}
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	routes := map[string]map[string]http.HandlerFunc{}
	// add registers one route: method, path under /api/2.0/mlflow/, the
	// rule it needs and its handler. A route without a valid rule panics
	// here, so it cannot be served unguarded.
	add := func(method, path string, rule Rule, h endpoint) {
		if !rule.Valid() || rule == Public {
			panic(fmt.Sprintf("tracking: route %s %s has no permission rule", method, path))
		}
		if routes[path] == nil {
			routes[path] = map[string]http.HandlerFunc{}
		}
		if _, dup := routes[path][method]; dup {
			panic(fmt.Sprintf("tracking: route %s %s registered twice", method, path))
		}
		hf := h(rule)
		if a.hooks != nil && method != http.MethodGet && (strings.HasPrefix(path, "registered-models/") || strings.HasPrefix(path, "model-versions/")) {
			// A registry change may have queued webhook messages.
			inner := hf
			hf = func(w http.ResponseWriter, r *http.Request) {
				inner(w, r)
				a.hooks.Notify()
			}
		}
		routes[path][method] = hf
	}
	a.tracking(add)
	a.registry(add)
	// MLflow 3 resources, one file each (loggedmodels.go, datasets.go,
	// upload.go), registered with their rules like every route.
	a.loggedModels(add)
	a.datasets(add)
	a.uploads(add)
	a.webhooks(add)
	// MLflow 3's GenAI resources: evaluation datasets and scorers under
	// /api/3.0/mlflow/ (their paths start with V3), the prompt lab's run.
	a.evalDatasets(add)
	a.scorers(add)
	a.promptLab(add)
	a.traces(add)
	mux := http.NewServeMux()
	for path, methods := range routes {
		h := methodSwitch(methods)
		for _, m := range Mounts(path) {
			mux.Handle(m, h)
		}
	}
	if o.Artifacts != nil {
		ah := artifact.GuardedHandler(o.Artifacts, 0, a.log, a.authorizeArtifact)
		mux.Handle(artifact.Prefix, ah)
		mux.Handle("/ajax-api/2.0/mlflow-artifacts/", ah)
	}
	notFound := func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, CodeEndpointNotFound, "No API endpoint %s %s", r.Method, r.URL.Path))
	}
	mux.HandleFunc("GET /get-artifact", a.getArtifact)
	mux.HandleFunc("GET /model-versions/get-artifact", a.getArtifact)
	mux.HandleFunc("/api/", notFound)
	mux.HandleFunc("/v1/", notFound)
	mux.HandleFunc("/ajax-api/", notFound)
	var limited http.Handler = mux
	timeout := o.RequestTimeout
	if timeout == 0 {
		timeout = DefaultRequestTimeout
	}
	if timeout > 0 {
		// The deadline rides on the request's context, which every store
		// call honours; a handler that passes it answers 503 (see fail).
		// Nothing buffers the response, so streamed answers start at once.
		// Streams (histories, artifact downloads) get no deadline: they
		// end when the client goes away.
		limited = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isStream(r.URL.Path) {
				mux.ServeHTTP(w, r)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			mux.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The mux would redirect a path with ".." to its cleaned form;
		// answer it as MLflow does, as an invalid path.
		for _, seg := range strings.Split(r.URL.Path, "/") {
			if seg == ".." || seg == "." {
				httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, CodeInvalidParameterValue, "Invalid path: %q", r.URL.Path))
				return
			}
		}
		limited.ServeHTTP(w, r)
	})
}

// isStream reports whether path streams its answer (artifact transfers,
// metric histories), so that it runs without the per-request deadline.
func isStream(path string) bool {
	return strings.Contains(path, "/mlflow-artifacts/") || path == "/get-artifact" || path == "/model-versions/get-artifact" ||
		strings.HasSuffix(path, "/metrics/get-history") || strings.HasSuffix(path, "/artifacts/files")
}

func methodSwitch(methods map[string]http.HandlerFunc) http.HandlerFunc {
	var allow []string
	for m := range methods {
		allow = append(allow, m)
	}
	sort.Strings(allow)
	return func(w http.ResponseWriter, r *http.Request) {
		h, ok := methods[r.Method]
		if !ok && r.Method == http.MethodHead {
			h, ok = methods[http.MethodGet]
		}
		if !ok {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			httpx.WriteError(w, httpx.Errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "Method %s is not allowed for %s; allowed: %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
			return
		}
		h(w, r)
	}
}

// handle adapts a typed endpoint: decode the request once, authorize the
// resources that decoded value names, call f with the same value, write
// the response or the error.
func handle[Req any](a *api, f func(ctx context.Context, req *Req) (any, error)) endpoint {
	return func(rule Rule) http.HandlerFunc {
		if _, ok := any(new(Req)).(resourceNamer); rule.onResource() && !ok {
			panic(fmt.Sprintf("tracking: rule %s needs a resource but %T names none", rule, new(Req)))
		}
		return func(w http.ResponseWriter, r *http.Request) {
			var req Req
			if err := DecodeRequest(w, r, &req); err != nil {
				a.fail(w, r, err)
				return
			}
			if err := a.authorizeRequest(r.Context(), rule, &req); err != nil {
				a.fail(w, r, err)
				return
			}
			serve(a, w, r, f, &req)
		}
	}
}

// handlePath is handle for routes whose resource is the path value
// param: decode the request once, let check authorize rule on that id
// (and what the decoded request names), then call f with both.
func handlePath[Req any](a *api, param string, check func(ctx context.Context, rule Rule, id string, req *Req) error, f func(ctx context.Context, id string, req *Req) (any, error)) endpoint {
	return func(rule Rule) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue(param)
			var req Req
			if err := DecodeRequest(w, r, &req); err != nil {
				a.fail(w, r, err)
				return
			}
			if err := check(r.Context(), rule, id, &req); err != nil {
				a.fail(w, r, err)
				return
			}
			serveValue(a, w, r, func(ctx context.Context) (any, error) { return f(ctx, id, &req) })
		}
	}
}

// authorizeRequest checks rule on the resources req names.
func (a *api) authorizeRequest(ctx context.Context, rule Rule, req any) error {
	if a.authz == nil || !rule.onResource() {
		return a.authorize(ctx, rule, nil)
	}
	rs, err := req.(resourceNamer).resources()
	if err != nil {
		return err
	}
	return a.authorize(ctx, rule, rs)
}

// raw adapts a handler that decodes and authorizes by itself.
func raw(h func(rule Rule, w http.ResponseWriter, r *http.Request)) endpoint {
	return func(rule Rule) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { h(rule, w, r) }
	}
}

func serve[Req any](a *api, w http.ResponseWriter, r *http.Request, f func(ctx context.Context, req *Req) (any, error), req *Req) {
	serveValue(a, w, r, func(ctx context.Context) (any, error) { return f(ctx, req) })
}

// serveValue writes f's answer ({} for none) or its error.
func serveValue(a *api, w http.ResponseWriter, r *http.Request, f func(ctx context.Context) (any, error)) {
	resp, err := f(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if resp == nil {
		resp = struct{}{}
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		a.log.Error("request passed its deadline", "method", r.Method, "path", r.URL.Path, "err", err)
		httpx.WriteError(w, httpx.Errorf(http.StatusServiceUnavailable, "TEMPORARILY_UNAVAILABLE", "The request did not complete within the server's deadline."))
		return
	}
	var he *httpx.Error
	if !errors.As(err, &he) || he.Status >= 500 {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	httpx.WriteError(w, err)
}

func required(name, v string) error {
	if v == "" {
		return InvalidParameterf("Missing value for required parameter '%s'.", name)
	}
	return nil
}

func maxResults(p *Int64, def, limit int, what string) (int, error) {
	if p == nil {
		return def, nil
	}
	n := int(*p)
	if n <= 0 || n > limit {
		return 0, InvalidParameterf("Invalid value %d for parameter 'max_results' supplied. It must be a positive integer at most %d for %s.", n, limit, what)
	}
	return n, nil
}

func runID(id, uuid string) (string, error) {
	if id == "" {
		id = uuid
	}
	if err := ValidateRunID(id); err != nil {
		return "", err
	}
	return id, nil
}

func nowMillis() int64 { return time.Now().UnixMilli() }

// logModelHistory appends a model's MLmodel fields to the run's
// mlflow.log-model.history tag (runs/log-model, create-promptlab-run).
func (a *api) logModelHistory(ctx context.Context, runID string, model map[string]any) error {
	run, err := a.store.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	var hist []any
	for _, t := range run.Data.Tags {
		if t.Key == "mlflow.log-model.history" {
			json.Unmarshal([]byte(t.Value), &hist)
		}
	}
	hist = append(hist, model)
	b, _ := json.Marshal(hist)
	return a.store.LogBatch(ctx, runID, nil, nil, []Tag{{Key: "mlflow.log-model.history", Value: string(b)}})
}

// experimentID is the experiment a run is created in: "0", the default
// experiment, when none is given.
func (r *createRunReq) experimentID() string {
	if r.ExperimentID == "" {
		return "0"
	}
	return r.ExperimentID
}

// Request types of the tracking endpoints.
type (
	createExperimentReq struct {
		Name             string `json:"name"`
		ArtifactLocation string `json:"artifact_location"`
		Tags             []Tag  `json:"tags"`
	}
	experimentIDReq struct {
		ExperimentID string `json:"experiment_id"`
	}
	experimentByNameReq struct {
		ExperimentName string `json:"experiment_name"`
	}
	searchExperimentsReq struct {
		MaxResults *Int64   `json:"max_results"`
		PageToken  string   `json:"page_token"`
		Filter     string   `json:"filter"`
		OrderBy    []string `json:"order_by"`
		ViewType   Enum     `json:"view_type"`
	}
	updateExperimentReq struct {
		ExperimentID string `json:"experiment_id"`
		NewName      string `json:"new_name"`
	}
	experimentTagReq struct {
		ExperimentID string `json:"experiment_id"`
		Key          string `json:"key"`
		Value        string `json:"value"`
	}
	createRunReq struct {
		ExperimentID string `json:"experiment_id"`
		UserID       string `json:"user_id"`
		RunName      string `json:"run_name"`
		StartTime    *Int64 `json:"start_time"`
		Tags         []Tag  `json:"tags"`
	}
	updateRunReq struct {
		RunID   string `json:"run_id"`
		RunUUID string `json:"run_uuid"`
		Status  Enum   `json:"status"`
		EndTime *Int64 `json:"end_time"`
		RunName string `json:"run_name"`
	}
	runIDReq struct {
		RunID   string `json:"run_id"`
		RunUUID string `json:"run_uuid"`
	}
	searchRunsReq struct {
		ExperimentIDs []string `json:"experiment_ids"`
		Filter        string   `json:"filter"`
		RunViewType   Enum     `json:"run_view_type"`
		MaxResults    *Int64   `json:"max_results"`
		OrderBy       []string `json:"order_by"`
		PageToken     string   `json:"page_token"`
	}
	logMetricReq struct {
		RunID     string `json:"run_id"`
		RunUUID   string `json:"run_uuid"`
		Key       string `json:"key"`
		Value     *Float `json:"value"`
		Timestamp *Int64 `json:"timestamp"`
		Step      Int64  `json:"step"`
		// MLflow 3: the logged model (and dataset) the point belongs to.
		ModelID       string `json:"model_id"`
		DatasetName   string `json:"dataset_name"`
		DatasetDigest string `json:"dataset_digest"`
	}
	keyValueReq struct {
		RunID   string  `json:"run_id"`
		RunUUID string  `json:"run_uuid"`
		Key     string  `json:"key"`
		Value   *string `json:"value"`
	}
	logBatchReq struct {
		RunID   string   `json:"run_id"`
		Metrics []Metric `json:"metrics"`
		Params  []Param  `json:"params"`
		Tags    []Tag    `json:"tags"`
	}
	logModelReq struct {
		RunID     string `json:"run_id"`
		ModelJSON string `json:"model_json"`
	}
	logInputsReq struct {
		RunID    string         `json:"run_id"`
		Datasets []DatasetInput `json:"datasets"`
		// MLflow 3: logged models the run used.
		Models []ModelInput `json:"models"`
	}
	metricHistoryReq struct {
		RunID      string `json:"run_id"`
		RunUUID    string `json:"run_uuid"`
		MetricKey  string `json:"metric_key"`
		PageToken  string `json:"page_token"`
		MaxResults *Int64 `json:"max_results"`
	}
	bulkIntervalReq struct {
		RunIDs     []string `json:"run_ids"`
		MetricKey  string   `json:"metric_key"`
		StartStep  *Int64   `json:"start_step"`
		EndStep    *Int64   `json:"end_step"`
		MaxResults *Int64   `json:"max_results"`
	}
	historyBulkReq struct {
		RunIDs     []string `json:"run_id"`
		MetricKey  *string  `json:"metric_key"`
		MaxResults *Int64   `json:"max_results"`
	}
	listArtifactsReq struct {
		RunID     string `json:"run_id"`
		RunUUID   string `json:"run_uuid"`
		Path      string `json:"path"`
		PageToken string `json:"page_token"`
	}
)

func (a *api) tracking(add func(method, path string, rule Rule, h endpoint)) {
	s := a.store
	add("POST", "experiments/create", SignedIn, handle(a, func(ctx context.Context, r *createExperimentReq) (any, error) {
		if err := ValidateExperimentName(r.Name); err != nil {
			return nil, err
		}
		for _, t := range r.Tags {
			if err := ValidateExperimentTag(t); err != nil {
				return nil, err
			}
		}
		// MLflow resolves a relative local location (a bare path or a
		// file: URI) against the server's working directory.
		loc, err := resolveURIIfLocal(r.ArtifactLocation)
		if err != nil {
			return nil, err
		}
		if err := a.validateArtifactLocation(loc); err != nil {
			return nil, err
		}
		id, err := s.CreateExperiment(ctx, r.Name, loc, r.Tags)
		if err != nil {
			return nil, err
		}
		if err := a.created(ctx, KindExperiment, id); err != nil {
			return nil, err
		}
		return map[string]string{"experiment_id": id}, nil
	}))
	add("GET", "experiments/get", NeedRead, handle(a, func(ctx context.Context, r *experimentIDReq) (any, error) {
		if err := required("experiment_id", r.ExperimentID); err != nil {
			return nil, err
		}
		e, err := s.GetExperiment(ctx, r.ExperimentID)
		if err != nil {
			return nil, err
		}
		return map[string]any{"experiment": e}, nil
	}))
	add("GET", "experiments/get-by-name", NeedRead, handle(a, func(ctx context.Context, r *experimentByNameReq) (any, error) {
		if err := required("experiment_name", r.ExperimentName); err != nil {
			return nil, err
		}
		e, err := s.GetExperimentByName(ctx, r.ExperimentName)
		if err != nil {
			return nil, err
		}
		return map[string]any{"experiment": e}, nil
	}))
	search := handle(a, func(ctx context.Context, r *searchExperimentsReq) (any, error) {
		var q SearchQuery
		var err error
		if q.MaxResults, err = maxResults(r.MaxResults, DefaultExperimentResults, MaxExperimentResults, "experiments"); err != nil {
			return nil, err
		}
		if q.View, err = ParseViewType(string(r.ViewType)); err != nil {
			return nil, err
		}
		if q.Filter, err = ParseExperimentFilter(r.Filter); err != nil {
			return nil, err
		}
		if q.OrderBy, err = ParseExperimentOrderBy(r.OrderBy); err != nil {
			return nil, err
		}
		q.PageToken = r.PageToken
		exps, next, err := s.SearchExperiments(ctx, q)
		if err != nil {
			return nil, err
		}
		exps = slices.DeleteFunc(exps, func(e Experiment) bool { return !a.visible(ctx, KindExperiment, e.ExperimentID) })
		return struct {
			Experiments   []Experiment `json:"experiments,omitempty"`
			NextPageToken string       `json:"next_page_token,omitempty"`
		}{exps, next}, nil
	})
	add("POST", "experiments/search", SignedIn, search)
	add("GET", "experiments/search", SignedIn, search)
	add("POST", "experiments/update", NeedEdit, handle(a, func(ctx context.Context, r *updateExperimentReq) (any, error) {
		if err := required("experiment_id", r.ExperimentID); err != nil {
			return nil, err
		}
		if err := ValidateExperimentName(r.NewName); err != nil {
			return nil, err
		}
		return nil, s.RenameExperiment(ctx, r.ExperimentID, r.NewName)
	}))
	for _, v := range []struct{ path, stage string }{{"experiments/delete", StageDeleted}, {"experiments/restore", StageActive}} {
		add("POST", v.path, NeedManage, handle(a, func(ctx context.Context, r *experimentIDReq) (any, error) {
			if err := required("experiment_id", r.ExperimentID); err != nil {
				return nil, err
			}
			return nil, s.SetExperimentStage(ctx, r.ExperimentID, v.stage)
		}))
	}
	add("POST", "experiments/set-experiment-tag", NeedEdit, handle(a, func(ctx context.Context, r *experimentTagReq) (any, error) {
		if err := required("experiment_id", r.ExperimentID); err != nil {
			return nil, err
		}
		t := Tag{Key: r.Key, Value: r.Value}
		if err := ValidateExperimentTag(t); err != nil {
			return nil, err
		}
		return nil, s.SetExperimentTag(ctx, r.ExperimentID, t)
	}))
	add("POST", "experiments/delete-experiment-tag", NeedEdit, handle(a, func(ctx context.Context, r *experimentTagReq) (any, error) {
		if err := required("experiment_id", r.ExperimentID); err != nil {
			return nil, err
		}
		if err := required("key", r.Key); err != nil {
			return nil, err
		}
		return nil, s.DeleteExperimentTag(ctx, r.ExperimentID, r.Key)
	}))

	add("POST", "runs/create", NeedEdit, handle(a, func(ctx context.Context, r *createRunReq) (any, error) {
		nr := NewRun{ExperimentID: r.experimentID(), UserID: r.UserID, RunName: r.RunName, Tags: r.Tags}
		if r.StartTime != nil {
			nr.StartTime = int64(*r.StartTime)
		} else {
			nr.StartTime = nowMillis()
		}
		for _, t := range r.Tags {
			if err := ValidateTag(t); err != nil {
				return nil, err
			}
		}
		run, err := s.CreateRun(ctx, nr)
		if err != nil {
			return nil, err
		}
		return map[string]any{"run": run}, nil
	}))
	add("POST", "runs/update", NeedEdit, handle(a, func(ctx context.Context, r *updateRunReq) (any, error) {
		id, err := runID(r.RunID, r.RunUUID)
		if err != nil {
			return nil, err
		}
		u := RunUpdate{RunName: r.RunName}
		if r.Status != "" {
			if u.Status, err = parseStatus(string(r.Status)); err != nil {
				return nil, err
			}
		}
		if r.EndTime != nil {
			e := int64(*r.EndTime)
			u.EndTime = &e
		}
		ri, err := s.UpdateRun(ctx, id, u)
		if err != nil {
			return nil, err
		}
		return map[string]any{"run_info": ri}, nil
	}))
	for _, v := range []struct{ path, stage string }{{"runs/delete", StageDeleted}, {"runs/restore", StageActive}} {
		add("POST", v.path, NeedManage, handle(a, func(ctx context.Context, r *runIDReq) (any, error) {
			id, err := runID(r.RunID, r.RunUUID)
			if err != nil {
				return nil, err
			}
			return nil, s.SetRunStage(ctx, id, v.stage)
		}))
	}
	add("GET", "runs/get", NeedRead, handle(a, func(ctx context.Context, r *runIDReq) (any, error) {
		id, err := runID(r.RunID, r.RunUUID)
		if err != nil {
			return nil, err
		}
		run, err := s.GetRun(ctx, id)
		if err != nil {
			return nil, err
		}
		return map[string]any{"run": run}, nil
	}))
	searchRuns := handle(a, func(ctx context.Context, r *searchRunsReq) (any, error) {
		var q RunQuery
		var err error
		// Only the experiments the user may read are searched, so paging
		// stays exact.
		for _, id := range r.ExperimentIDs {
			if CanonicalID(id) && a.visible(ctx, KindExperiment, id) {
				q.ExperimentIDs = append(q.ExperimentIDs, id)
			}
		}
		if len(r.ExperimentIDs) > 0 && len(q.ExperimentIDs) == 0 {
			return struct{}{}, nil
		}
		if q.MaxResults, err = maxResults(r.MaxResults, DefaultRunResults, MaxRunResults, "runs"); err != nil {
			return nil, err
		}
		if q.View, err = ParseViewType(string(r.RunViewType)); err != nil {
			return nil, err
		}
		if q.Filter, err = ParseRunFilter(r.Filter); err != nil {
			return nil, err
		}
		if q.OrderBy, err = ParseRunOrderBy(r.OrderBy); err != nil {
			return nil, err
		}
		q.PageToken = r.PageToken
		runs, next, err := s.SearchRuns(ctx, q)
		if err != nil {
			return nil, err
		}
		return struct {
			Runs          []Run  `json:"runs,omitempty"`
			NextPageToken string `json:"next_page_token,omitempty"`
		}{runs, next}, nil
	})
	add("POST", "runs/search", SignedIn, searchRuns)
	add("GET", "runs/search", SignedIn, searchRuns)
	add("POST", "runs/log-metric", NeedEdit, handle(a, func(ctx context.Context, r *logMetricReq) (any, error) {
		id, err := runID(r.RunID, r.RunUUID)
		if err != nil {
			return nil, err
		}
		if r.Value == nil {
			return nil, InvalidParameterf("Missing value for required parameter 'value'.")
		}
		if r.Timestamp == nil {
			return nil, InvalidParameterf("Missing value for required parameter 'timestamp'.")
		}
		m := Metric{Key: r.Key, Value: *r.Value, Timestamp: *r.Timestamp, Step: r.Step, ModelID: r.ModelID, DatasetName: r.DatasetName, DatasetDigest: r.DatasetDigest}
		if err := ValidateMetric(m); err != nil {
			return nil, err
		}
		return nil, s.LogBatch(ctx, id, []Metric{m}, nil, nil)
	}))
	add("POST", "runs/log-parameter", NeedEdit, handle(a, func(ctx context.Context, r *keyValueReq) (any, error) {
		id, err := runID(r.RunID, r.RunUUID)
		if err != nil {
			return nil, err
		}
		if r.Value == nil {
			return nil, InvalidParameterf("Missing value for required parameter 'value'.")
		}
		p := Param{Key: r.Key, Value: *r.Value}
		if err := ValidateParam(p); err != nil {
			return nil, err
		}
		return nil, s.LogBatch(ctx, id, nil, []Param{p}, nil)
	}))
	add("POST", "runs/set-tag", NeedEdit, handle(a, func(ctx context.Context, r *keyValueReq) (any, error) {
		id, err := runID(r.RunID, r.RunUUID)
		if err != nil {
			return nil, err
		}
		if r.Value == nil {
			return nil, InvalidParameterf("Missing value for required parameter 'value'.")
		}
		t := Tag{Key: r.Key, Value: *r.Value}
		if err := ValidateTag(t); err != nil {
			return nil, err
		}
		return nil, s.LogBatch(ctx, id, nil, nil, []Tag{t})
	}))
	add("POST", "runs/delete-tag", NeedEdit, handle(a, func(ctx context.Context, r *keyValueReq) (any, error) {
		id, err := runID(r.RunID, r.RunUUID)
		if err != nil {
			return nil, err
		}
		if err := required("key", r.Key); err != nil {
			return nil, err
		}
		return nil, s.DeleteTag(ctx, id, r.Key)
	}))
	add("POST", "runs/log-batch", NeedEdit, handle(a, func(ctx context.Context, r *logBatchReq) (any, error) {
		id, err := runID(r.RunID, "")
		if err != nil {
			return nil, err
		}
		if err := ValidateBatch(r.Metrics, r.Params, r.Tags); err != nil {
			return nil, err
		}
		return nil, s.LogBatch(ctx, id, r.Metrics, r.Params, r.Tags)
	}))
	add("POST", "runs/log-model", NeedEdit, handle(a, func(ctx context.Context, r *logModelReq) (any, error) {
		id, err := runID(r.RunID, "")
		if err != nil {
			return nil, err
		}
		var model map[string]any
		if err := json.Unmarshal([]byte(r.ModelJSON), &model); err != nil {
			return nil, InvalidParameterf("Malformed model info. \n %s \n is not a valid JSON.", r.ModelJSON)
		}
		for _, k := range []string{"artifact_path", "flavors", "utc_time_created", "run_id"} {
			if _, ok := model[k]; !ok {
				return nil, InvalidParameterf("Model json is missing mandatory fields: [%s]", k)
			}
		}
		return nil, a.logModelHistory(ctx, id, model)
	}))
	add("POST", "runs/log-inputs", NeedEdit, handle(a, func(ctx context.Context, r *logInputsReq) (any, error) {
		id, err := runID(r.RunID, "")
		if err != nil {
			return nil, err
		}
		for i, d := range r.Datasets {
			if d.Dataset == nil {
				return nil, InvalidParameterf("Missing value for required parameter 'datasets[%d].dataset'.", i)
			}
			for _, f := range []struct{ n, v string }{{"name", d.Dataset.Name}, {"digest", d.Dataset.Digest}, {"source_type", d.Dataset.SourceType}, {"source", d.Dataset.Source}} {
				if f.v == "" {
					return nil, InvalidParameterf("Missing value for required parameter 'datasets[%d].dataset.%s'.", i, f.n)
				}
			}
			for _, t := range d.Tags {
				if t.Key == "" {
					return nil, InvalidParameterf("Missing value for required parameter 'datasets[%d].tags.key'.", i)
				}
			}
		}
		for i, m := range r.Models {
			if m.ModelID == "" {
				return nil, InvalidParameterf("Missing value for required parameter 'models[%d].model_id'.", i)
			}
		}
		if len(r.Models) > 0 {
			if err := s.LogModelInputs(ctx, id, r.Models); err != nil {
				return nil, err
			}
		}
		if len(r.Datasets) == 0 && len(r.Models) > 0 {
			return nil, nil
		}
		return nil, s.LogInputs(ctx, id, r.Datasets)
	}))
	add("GET", "metrics/get-history", NeedRead, raw(a.metricHistory))
	add("GET", "metrics/get-history-bulk-interval", NeedRead, handle(a, a.bulkInterval))
	add("GET", "metrics/get-history-bulk", NeedRead, handle(a, a.historyBulk))
	add("GET", "artifacts/list", NeedRead, handle(a, a.listArtifacts))
}

// historyBulk is the UI's metrics/get-history-bulk: each run's history
// (runs in id order, points by timestamp, step, value), at most
// max_results points in all.
func (a *api) historyBulk(ctx context.Context, r *historyBulkReq) (any, error) {
	const maxHistory = 25000
	if len(r.RunIDs) == 0 {
		return nil, InvalidParameterf("GetMetricHistoryBulk request must specify at least one run_id.")
	}
	if len(r.RunIDs) > 100 {
		return nil, InvalidParameterf("GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received %d run_ids.", len(r.RunIDs))
	}
	if r.MetricKey == nil {
		return nil, InvalidParameterf("GetMetricHistoryBulk request must specify a metric_key.")
	}
	limit := maxHistory
	if r.MaxResults != nil && int(*r.MaxResults) < limit {
		limit = max(0, int(*r.MaxResults))
	}
	ids := append([]string(nil), r.RunIDs...)
	sort.Strings(ids)
	ids = slices.Compact(ids)
	out := []Metric{}
	for _, id := range ids {
		var pts []Metric
		// All of it: MLflow orders by timestamp before it limits.
		if _, err := a.store.MetricHistory(ctx, id, *r.MetricKey, "", 0, func(m Metric) error {
			m.RunID = id
			pts = append(pts, m)
			return nil
		}); errors.Is(err, ErrNotFound) {
			continue // MLflow's store drops runs it cannot find
		} else if err != nil {
			return nil, err
		}
		sort.SliceStable(pts, func(i, j int) bool {
			p, q := pts[i], pts[j]
			if p.Timestamp != q.Timestamp {
				return p.Timestamp < q.Timestamp
			}
			if p.Step != q.Step {
				return p.Step < q.Step
			}
			return p.Value < q.Value
		})
		out = append(out, pts...)
		if len(out) >= limit {
			out = out[:limit]
			break
		}
	}
	return map[string][]Metric{"metrics": out}, nil
}

// bulkInterval samples one metric across runs on a shared set of steps,
// as MLflow does: at most max_results steps evenly spread over the steps
// that exist in [start_step, end_step], plus each run's first and last
// step in range, and every point logged at those steps.
func (a *api) bulkInterval(ctx context.Context, r *bulkIntervalReq) (any, error) {
	if len(r.RunIDs) == 0 {
		return nil, InvalidParameterf("Missing value for required parameter 'run_ids'.")
	}
	if len(r.RunIDs) > 100 {
		return nil, InvalidParameterf("GetMetricHistoryBulkInterval request must specify at most 100 run_ids. Received %d run_ids.", len(r.RunIDs))
	}
	if err := required("metric_key", r.MetricKey); err != nil {
		return nil, err
	}
	limit := 2500
	if r.MaxResults != nil {
		if *r.MaxResults < 1 || *r.MaxResults > 2500 {
			return nil, InvalidParameterf("max_results must be between 1 and 2500.")
		}
		limit = int(*r.MaxResults)
	}
	if (r.StartStep == nil) != (r.EndStep == nil) {
		return nil, InvalidParameterf("If either start step or end step are specified, both must be specified.")
	}
	if r.StartStep != nil && *r.StartStep > *r.EndStep {
		return nil, InvalidParameterf("end_step must be greater than start_step. Found start_step=%d and end_step=%d.", *r.StartStep, *r.EndStep)
	}
	hist := make([][]Metric, len(r.RunIDs))
	stepSet := map[Int64]bool{}
	for i, id := range r.RunIDs {
		if _, err := a.store.MetricHistory(ctx, id, r.MetricKey, "", 0, func(m Metric) error {
			hist[i] = append(hist[i], m)
			stepSet[m.Step] = true
			return nil
		}); err != nil {
			return nil, err
		}
	}
	all := make([]Int64, 0, len(stepSet))
	for st := range stepSet {
		all = append(all, st)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	var start, end Int64
	if r.StartStep != nil {
		start, end = *r.StartStep, *r.EndStep
	} else if len(all) > 0 {
		end = all[len(all)-1]
	}
	keep := map[Int64]bool{}
	for _, h := range hist { // each run's min and max step, when in range
		if len(h) == 0 {
			continue
		}
		lo, hi := h[0].Step, h[0].Step
		for _, m := range h {
			lo, hi = min(lo, m.Step), max(hi, m.Step)
		}
		for _, st := range []Int64{lo, hi} {
			if start <= st && st <= end {
				keep[st] = true
			}
		}
	}
	si := sort.Search(len(all), func(i int) bool { return all[i] >= start })
	ei := sort.Search(len(all), func(i int) bool { return all[i] > end })
	if ei-si <= limit {
		for _, st := range all[si:ei] {
			keep[st] = true
		}
	} else {
		interval := float64(ei-si) / float64(limit)
		for i := range limit {
			if idx := si + int(float64(i)*interval); idx < ei {
				keep[all[idx]] = true
			}
		}
		keep[all[ei-1]] = true
	}
	var out []Metric
	for i, h := range hist {
		for _, m := range h {
			if keep[m.Step] {
				m.RunID = r.RunIDs[i]
				out = append(out, m)
			}
		}
	}
	return struct {
		Metrics []Metric `json:"metrics,omitempty"`
	}{out}, nil
}

func parseStatus(s string) (string, error) {
	switch s {
	case StatusRunning, "1":
		return StatusRunning, nil
	case StatusScheduled, "2":
		return StatusScheduled, nil
	case StatusFinished, "3":
		return StatusFinished, nil
	case StatusFailed, "4":
		return StatusFailed, nil
	case StatusKilled, "5":
		return StatusKilled, nil
	}
	return "", InvalidParameterf("Invalid value for parameter 'status': %q; expected RUNNING, SCHEDULED, FINISHED, FAILED or KILLED", s)
}

// metricHistory streams the response so a history of millions of points
// is never held in memory.
func (a *api) metricHistory(rule Rule, w http.ResponseWriter, r *http.Request) {
	var req metricHistoryReq
	if err := DecodeRequest(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.authorizeRequest(r.Context(), rule, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	id, err := runID(req.RunID, req.RunUUID)
	if err == nil {
		err = required("metric_key", req.MetricKey)
	}
	max := 0
	if err == nil && req.MaxResults != nil {
		max, err = maxResults(req.MaxResults, 0, 1<<30, "metric history")
	}
	if err == nil {
		_, err = DecodePageToken(req.PageToken)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var bw *bufio.Writer
	n := 0
	next, err := a.store.MetricHistory(r.Context(), id, req.MetricKey, req.PageToken, max, func(m Metric) error {
		if bw == nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			bw = bufio.NewWriterSize(w, 64<<10)
			bw.WriteString(`{"metrics":[`)
		}
		if n > 0 {
			bw.WriteByte(',')
		}
		n++
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		_, err = bw.Write(b)
		return err
	})
	if err != nil {
		if bw == nil {
			a.fail(w, r, err)
			return
		}
		// Headers are out; cut the body short so the client sees
		// malformed JSON rather than a silently truncated history.
		a.log.Error("metric history failed mid-stream", "run_id", id, "key", req.MetricKey, "err", err)
		bw.Flush()
		return
	}
	if bw == nil {
		if next != "" {
			httpx.WriteJSON(w, http.StatusOK, map[string]string{"next_page_token": next})
		} else {
			httpx.WriteJSON(w, http.StatusOK, struct{}{})
		}
		return
	}
	bw.WriteByte(']')
	if next != "" {
		tok, _ := json.Marshal(next)
		bw.WriteString(`,"next_page_token":`)
		bw.Write(tok)
	}
	bw.WriteString("}")
	bw.Flush()
}

// artifactRepo maps an artifact root URI to a repo and the path of the
// root inside it; verb ("read", "list", "write") is for the error. A local
// root is opened only inside the configured ArtifactRoots when there are
// any, and created only to write.
func (a *api) artifactRepo(root, verb string) (artifact.Repo, string, error) {
	switch {
	case strings.HasPrefix(root, ProxyScheme):
		if a.artifacts == nil {
			return nil, "", InvalidParameterf("The server does not serve artifacts; cannot %s %s", verb, root)
		}
		base, err := artifact.CleanPath(strings.Trim(strings.TrimPrefix(root, ProxyScheme), "/"))
		if err != nil {
			return nil, "", InvalidParameterf("Invalid artifact location %q", root)
		}
		return a.artifacts, base, nil
	case strings.HasPrefix(root, "file://") || strings.HasPrefix(root, "/"):
		dir := filepath.Clean(strings.TrimPrefix(root, "file://"))
		if !a.insideRoots(dir) {
			return nil, "", InvalidParameterf("Artifact location %s is outside the server's artifact roots; cannot %s it", root, verb)
		}
		// A run's local directory appears with its first artifact, as
		// MLflow's local artifact repository makes it.
		if verb == "write" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, "", fmt.Errorf("tracking: create artifact directory %s: %w", dir, err)
			}
		}
		local, err := artifact.OpenLocal(dir)
		if err != nil {
			return nil, "", err
		}
		return local, "", nil
	}
	s := strings.ToUpper(verb[:1]) + verb[1:]
	return nil, "", InvalidParameterf("%sing artifacts at %s is not supported by this server", s, root)
}

// validateArtifactLocation checks a client-supplied artifact_location
// against the configured roots: a local one must lie inside an
// ArtifactRoot, and with auth on a proxied one (mlflow-artifacts:) is the
// server's to assign, since the proxy's permission checks read the
// experiment id from its first segment.
func (a *api) validateArtifactLocation(loc string) error {
	if loc == "" {
		return nil
	}
	if strings.HasPrefix(loc, ProxyScheme) {
		if a.authz != nil {
			return InvalidParameterf("Invalid artifact_location '%s': locations under %s are assigned by the server; leave artifact_location empty.", loc, ProxyScheme)
		}
		return nil
	}
	local, err := isLocalURI(loc)
	if err != nil || !local {
		return err
	}
	if dir := filepath.Clean(localURIToPath(loc)); !a.insideRoots(dir) {
		return InvalidParameterf("Invalid artifact_location '%s': it is outside the server's artifact roots (%s).", loc, strings.Join(a.roots, ", "))
	}
	return nil
}

// insideRoots reports whether the local directory dir is inside one of
// the configured artifact roots (any directory when none are configured).
func (a *api) insideRoots(dir string) bool {
	if a.roots == nil {
		return true
	}
	for _, r := range a.roots {
		if dir == r || strings.HasPrefix(dir, strings.TrimSuffix(r, "/")+"/") {
			return true
		}
	}
	return false
}

// repoError turns a repo's path errors into the client's 4xx.
func repoError(rel string, err error) error {
	switch {
	case errors.Is(err, artifact.ErrNotFound):
		return NotFoundf("File %s not found", rel)
	case errors.Is(err, artifact.ErrInvalidPath):
		return InvalidParameterf("Invalid path")
	}
	return err
}

// getArtifact streams one artifact file of a run (GET /get-artifact) or of
// a model version (GET /model-versions/get-artifact), as MLflow's UI
// endpoints do.
func (a *api) getArtifact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k, vs := range q {
		for _, v := range vs {
			if strings.IndexByte(v, 0) >= 0 {
				a.fail(w, r, nulError(k))
				return
			}
		}
	}
	rel, err := artifact.CleanPath(q.Get("path"))
	if err != nil || rel == "" {
		a.fail(w, r, InvalidParameterf("Invalid path"))
		return
	}
	var root string
	if strings.HasPrefix(r.URL.Path, "/model-versions/") {
		if err := a.authorize(r.Context(), NeedRead, []Resource{{KindRegisteredModel, q.Get("name")}}); err != nil {
			a.fail(w, r, err)
			return
		}
		v, err := a.store.GetModelVersion(r.Context(), q.Get("name"), q.Get("version"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		root = v.Source
		// As MLflow: the version's download URI (a models:/NAME/VERSION
		// source followed), read through a runs:/ URI's run if it is one.
		if isModelsURI(root) {
			if root, err = a.resolveModelsURI(r.Context(), root, 0); err != nil {
				a.fail(w, r, err)
				return
			}
		}
		if root, err = a.runsURIRoot(r.Context(), root); err != nil {
			a.fail(w, r, err)
			return
		}
		// A version's source is the client's to choose: reading through
		// it also needs READ on the experiment whose artifacts it names.
		if err := a.authorize(r.Context(), NeedRead, a.sourceOwner(r.Context(), v, root)); err != nil {
			a.fail(w, r, err)
			return
		}
	} else {
		id, err := runID(q.Get("run_id"), q.Get("run_uuid"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if err := a.authorize(r.Context(), NeedRead, []Resource{{KindRun, id}}); err != nil {
			a.fail(w, r, err)
			return
		}
		run, err := a.store.GetRun(r.Context(), id)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		root = run.Info.ArtifactURI
	}
	a.streamArtifact(w, r, root, rel)
}

func (a *api) listArtifacts(ctx context.Context, r *listArtifactsReq) (any, error) {
	id, err := runID(r.RunID, r.RunUUID)
	if err != nil {
		return nil, err
	}
	rel, err := artifact.CleanPath(r.Path)
	if err != nil {
		return nil, InvalidParameterf("Invalid path")
	}
	run, err := a.store.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	return a.listUnder(ctx, run.Info.ArtifactURI, rel)
}

// listUnder lists the directory rel under the artifact root URI root, as
// artifacts/list answers.
func (a *api) listUnder(ctx context.Context, root, rel string) (any, error) {
	repo, base, err := a.artifactRepo(root, "list")
	if err != nil {
		return nil, err
	}
	full := rel
	if base != "" {
		full = strings.TrimSuffix(base+"/"+rel, "/")
	}
	entries, err := repo.List(ctx, full)
	if err != nil {
		return nil, repoError(rel, err)
	}
	files := make([]FileInfo, 0, len(entries))
	for _, e := range entries {
		p := strings.TrimPrefix(strings.TrimPrefix(e.Path, base), "/")
		fi := FileInfo{Path: p, IsDir: e.IsDir}
		if !e.IsDir {
			fi.FileSize = Int64(e.Size)
		}
		files = append(files, fi)
	}
	return struct {
		RootURI string     `json:"root_uri"`
		Files   []FileInfo `json:"files,omitempty"`
	}{root, files}, nil
}

// runsURIRoot turns runs:/RUN_ID/sub into the run's artifact URI plus sub;
// other URIs are returned as they are.
func (a *api) runsURIRoot(ctx context.Context, uri string) (string, error) {
	rest, ok := strings.CutPrefix(uri, "runs:/")
	if !ok {
		return uri, nil
	}
	id, sub, _ := strings.Cut(strings.TrimLeft(rest, "/"), "/")
	run, err := a.store.GetRun(ctx, id)
	if err != nil {
		return "", err
	}
	if sub == "" {
		return run.Info.ArtifactURI, nil
	}
	return strings.TrimRight(run.Info.ArtifactURI, "/") + "/" + sub, nil
}
