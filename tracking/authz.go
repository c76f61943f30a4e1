package tracking

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/dawn-ml/dawn/artifact"
)

// Authorization: how every request gets exactly one permission decision,
// made on the resource the handler will act on.
//
// Each route is registered with its Rule in the same line as its handler:
//
//	add("POST", "runs/log-metric", NeedEdit, handle(a, func(ctx context.Context, r *logMetricReq) (any, error) { ... }))
//
// For NeedRead, NeedEdit and NeedManage the request type names the
// resources it acts on with a method
//
//	func (r *logMetricReq) resources() ([]Resource, error) { return runResource(r.RunID, r.RunUUID) }
//
// and handle() decodes the request once, asks resources() of that decoded
// value, checks the user's permission on each, and only then calls the
// handler with the same value, so the check and the handler cannot read
// different parameters. A request type without resources() on such a
// route panics at registration (see TestRoutesHaveRules); a request whose
// resources() names nothing is refused. Handlers that do not go through
// handle() call a.authorize with what they resolved themselves.
//
// SignedIn routes (creates and searches) need only a signed-in user; their
// handlers call a.visible to drop what the user may not read, and
// a.created to give the creator MANAGE. AdminOnly routes are for admins.
//
// Without an Authorizer (no --auth) every rule allows everything.

// Rule is the permission a route needs.
type Rule string

// The rules.
const (
	NeedRead   Rule = "READ"   // READ on every resource the request names
	NeedEdit   Rule = "EDIT"   // EDIT on every resource the request names
	NeedManage Rule = "MANAGE" // MANAGE on every resource the request names
	SignedIn   Rule = "SIGNED_IN"
	AdminOnly  Rule = "ADMIN"
	// Public routes need no credentials (/health, /version).
	Public Rule = "PUBLIC"
)

func (r Rule) onResource() bool { return r == NeedRead || r == NeedEdit || r == NeedManage }

// Valid reports whether r is one of the rules.
func (r Rule) Valid() bool {
	switch r {
	case NeedRead, NeedEdit, NeedManage, SignedIn, AdminOnly, Public:
		return true
	}
	return false
}

// Resource kinds permissions are kept on, and the kinds a request may name
// that resolve to one of them.
const (
	KindExperiment      = "experiment"
	KindRegisteredModel = "registered_model"
	// KindRun resolves to the run's experiment; KindExperimentName to the
	// experiment of that name.
	KindRun            = "run"
	KindExperimentName = "experiment_name"
	// KindTrace resolves to the trace's experiment: a trace's permissions
	// are its experiment's.
	KindTrace = "trace"
)

// Resource is something a request names: a kind and an id (experiment
// id, run id, experiment name or registered model name).
type Resource struct{ Kind, ID string }

// resourceNamer is implemented by request types of routes whose rule is on
// a resource.
type resourceNamer interface {
	resources() ([]Resource, error)
}

// Authorizer decides for the signed-in user of a request's context. The
// auth package implements it; the user was authenticated before the
// request reached the API.
type Authorizer interface {
	// Allowed reports whether the user holds need (READ, EDIT or MANAGE)
	// on the experiment (by canonical id) or registered model (by name).
	Allowed(ctx context.Context, kind, id string, need Rule) bool
	// IsAdmin reports whether the user is an admin.
	IsAdmin(ctx context.Context) bool
	// Created gives the user MANAGE on what they just created.
	Created(ctx context.Context, kind, id string) error
	// Renamed moves the permissions of a renamed registered model.
	Renamed(ctx context.Context, from, to string) error
	// Deleted drops the permissions on a deleted registered model, so a
	// new model of the same name does not inherit them.
	Deleted(ctx context.Context, kind, id string) error
}

// denied is the answer to a request the user may not make.
func denied() error {
	return codeErr(http.StatusForbidden, CodePermissionDenied, nil, "Permission denied.")
}

// CanonicalID reports whether id is an experiment id as the server writes
// them: decimal digits, no sign, no leading zero. "01" and "+1" are not
// aliases of "1".
func CanonicalID(id string) bool {
	n, err := strconv.ParseInt(id, 10, 64)
	return err == nil && n >= 0 && strconv.FormatInt(n, 10) == id
}

// resolve turns a named resource into the experiment or registered model
// its permission is kept on; the experiment id returned is the store's own
// (canonical) spelling.
func (a *api) resolve(ctx context.Context, res Resource) (Resource, error) {
	switch res.Kind {
	case KindExperiment:
		if res.ID == "" {
			return res, InvalidParameterf("Missing value for required parameter 'experiment_id'.")
		}
		e, err := a.store.GetExperiment(ctx, res.ID)
		if err != nil {
			return res, err
		}
		return Resource{KindExperiment, e.ExperimentID}, nil
	case KindExperimentName:
		if res.ID == "" {
			return res, InvalidParameterf("Missing value for required parameter 'experiment_name'.")
		}
		e, err := a.store.GetExperimentByName(ctx, res.ID)
		if err != nil {
			return res, err
		}
		return Resource{KindExperiment, e.ExperimentID}, nil
	case KindRun:
		if err := ValidateRunID(res.ID); err != nil {
			return res, err
		}
		r, err := a.store.GetRun(ctx, res.ID)
		if err != nil {
			return res, err
		}
		return Resource{KindExperiment, r.Info.ExperimentID}, nil
	case KindTrace:
		if err := ValidateTraceID(res.ID); err != nil {
			return res, err
		}
		t, err := a.store.GetTraceInfo(ctx, res.ID)
		if err != nil {
			return res, err
		}
		return Resource{KindExperiment, t.ExperimentID}, nil
	case KindRegisteredModel:
		if err := modelName(res.ID); err != nil {
			return res, err
		}
		return res, nil
	}
	return res, denied()
}

// authorize is the one permission decision of a request: the user must
// hold rule on every resource in rs (resolved to experiments and models).
// A rule on resources with no resource named is refused.
func (a *api) authorize(ctx context.Context, rule Rule, rs []Resource) error {
	if a.authz == nil || rule == Public || rule == SignedIn || a.authz.IsAdmin(ctx) {
		return nil
	}
	if !rule.onResource() || len(rs) == 0 {
		return denied()
	}
	for _, res := range rs {
		r, err := a.resolve(ctx, res)
		if err != nil {
			return err
		}
		if !a.authz.Allowed(ctx, r.Kind, r.ID, rule) {
			return denied()
		}
	}
	return nil
}

// visible reports whether the user may read the experiment or model; a
// search drops what is not visible.
func (a *api) visible(ctx context.Context, kind, id string) bool {
	return a.authz == nil || a.authz.IsAdmin(ctx) || a.authz.Allowed(ctx, kind, id, NeedRead)
}

// created records the creator's MANAGE on a new experiment or model.
func (a *api) created(ctx context.Context, kind, id string) error {
	if a.authz == nil {
		return nil
	}
	return a.authz.Created(ctx, kind, id)
}

// One resource of each shape, for resources() methods.

func experimentResource(id string) ([]Resource, error) {
	return []Resource{{KindExperiment, id}}, nil
}

func runResource(id, uuid string) ([]Resource, error) {
	id, err := runID(id, uuid)
	if err != nil {
		return nil, err
	}
	return []Resource{{KindRun, id}}, nil
}

func modelResource(name string) ([]Resource, error) {
	return []Resource{{KindRegisteredModel, name}}, nil
}

func runsResources(ids []string) ([]Resource, error) {
	rs := make([]Resource, 0, len(ids))
	for _, id := range ids {
		if err := ValidateRunID(id); err != nil {
			return nil, err
		}
		rs = append(rs, Resource{KindRun, id})
	}
	return rs, nil
}

// proxyExperiment names the experiment an artifact-proxy path belongs to:
// its first segment, which must be a canonical experiment id
// (mlflow-artifacts:/<experiment>/<run>/artifacts/...). Paths that name no
// experiment are for admins only.
func proxyExperiment(p string) ([]Resource, error) {
	first, _, _ := strings.Cut(p, "/")
	if !CanonicalID(first) {
		return nil, nil
	}
	return []Resource{{KindExperiment, first}}, nil
}

// The resources each request type names: the same fields, read the same
// way, as its handler uses.

func (r *experimentIDReq) resources() ([]Resource, error) { return experimentResource(r.ExperimentID) }
func (r *updateExperimentReq) resources() ([]Resource, error) {
	return experimentResource(r.ExperimentID)
}
func (r *experimentTagReq) resources() ([]Resource, error) { return experimentResource(r.ExperimentID) }
func (r *experimentByNameReq) resources() ([]Resource, error) {
	return []Resource{{KindExperimentName, r.ExperimentName}}, nil
}
func (r *createRunReq) resources() ([]Resource, error)      { return experimentResource(r.experimentID()) }
func (r *updateRunReq) resources() ([]Resource, error)      { return runResource(r.RunID, r.RunUUID) }
func (r *runIDReq) resources() ([]Resource, error)          { return runResource(r.RunID, r.RunUUID) }
func (r *logMetricReq) resources() ([]Resource, error)      { return runResource(r.RunID, r.RunUUID) }
func (r *keyValueReq) resources() ([]Resource, error)       { return runResource(r.RunID, r.RunUUID) }
func (r *logBatchReq) resources() ([]Resource, error)       { return runResource(r.RunID, "") }
func (r *logModelReq) resources() ([]Resource, error)       { return runResource(r.RunID, "") }
func (r *logInputsReq) resources() ([]Resource, error)      { return runResource(r.RunID, "") }
func (r *metricHistoryReq) resources() ([]Resource, error)  { return runResource(r.RunID, r.RunUUID) }
func (r *bulkIntervalReq) resources() ([]Resource, error)   { return runsResources(r.RunIDs) }
func (r *historyBulkReq) resources() ([]Resource, error)    { return runsResources(r.RunIDs) }
func (r *listArtifactsReq) resources() ([]Resource, error)  { return runResource(r.RunID, r.RunUUID) }
func (r *modelNameReq) resources() ([]Resource, error)      { return modelResource(r.Name) }
func (r *renameModelReq) resources() ([]Resource, error)    { return modelResource(r.Name) }
func (r *updateModelReq) resources() ([]Resource, error)    { return modelResource(r.Name) }
func (r *latestVersionsReq) resources() ([]Resource, error) { return modelResource(r.Name) }
func (r *modelTagReq) resources() ([]Resource, error)       { return modelResource(r.Name) }
func (r *aliasReq) resources() ([]Resource, error)          { return modelResource(r.Name) }
func (r *createVersionReq) resources() ([]Resource, error)  { return modelResource(r.Name) }
func (r *versionReq) resources() ([]Resource, error)        { return modelResource(r.Name) }
func (r *updateVersionReq) resources() ([]Resource, error)  { return modelResource(r.Name) }
func (r *transitionReq) resources() ([]Resource, error)     { return modelResource(r.Name) }

// sourceOwner names the experiments whose artifacts a model version's
// resolved source root reads: its run's, and for a proxied location the
// experiment of its first segment. None (admins only) when it names
// neither.
func (a *api) sourceOwner(ctx context.Context, v *ModelVersion, root string) []Resource {
	var rs []Resource
	if v.RunID != "" {
		rs = append(rs, Resource{KindRun, v.RunID})
	}
	if rest, ok := strings.CutPrefix(root, ProxyScheme); ok {
		p, err := artifact.CleanPath(strings.TrimLeft(rest, "/"))
		if err != nil {
			return nil
		}
		exp, _ := proxyExperiment(p)
		if exp == nil {
			return nil
		}
		rs = append(rs, exp...)
	}
	return rs
}

// authorizeArtifact is the artifact proxy's check, called by its handler
// with the cleaned path it will use: reading needs READ, writing EDIT and
// deleting MANAGE on the experiment the path's first segment names.
func (a *api) authorizeArtifact(r *http.Request, p string, op artifact.Op) error {
	rule := NeedRead
	switch op {
	case artifact.OpWrite:
		rule = NeedEdit
	case artifact.OpDelete:
		rule = NeedManage
	}
	rs, _ := proxyExperiment(p)
	return a.authorize(r.Context(), rule, rs)
}

// ProxyRoutes lists the routes NewHandler serves outside /api/2.0/mlflow/
// (the artifact proxy, also under /ajax-api/, and the UI's artifact
// downloads) with their rules. Unknown paths under /api/ and /ajax-api/
// answer 404 to any signed-in user.
func ProxyRoutes() []RouteInfo {
	return []RouteInfo{
		{"GET", "/get-artifact", NeedRead},
		{"GET", "/model-versions/get-artifact", NeedRead},
		{"GET", artifact.Prefix + "artifacts", NeedRead},
		{"GET", artifact.Prefix + "artifacts/{path...}", NeedRead},
		{"PUT", artifact.Prefix + "artifacts/{path...}", NeedEdit},
		{"POST", artifact.Prefix + "artifacts/{path...}", NeedEdit},
		{"DELETE", artifact.Prefix + "artifacts/{path...}", NeedManage},
		{"POST", artifact.Prefix + "mpu/{verb}/{path...}", NeedEdit},
	}
}
