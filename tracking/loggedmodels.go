package tracking

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/internal/httpx"
)

// Logged-model statuses, as MLflow 3's LoggedModelStatus enum names them.
const (
	LoggedModelPending      = "LOGGED_MODEL_PENDING"
	LoggedModelReady        = "LOGGED_MODEL_READY"
	LoggedModelUploadFailed = "LOGGED_MODEL_UPLOAD_FAILED"
)

// Search limits for logged models: MLflow's default page is 50.
const (
	DefaultLoggedModelResults = 50
	MaxLoggedModelResults     = 1000
)

// LoggedModelIDPrefix starts every logged-model id ("m-" + 32 hex digits),
// which is how models:/m-<id> URIs are told from models:/NAME/VERSION.
const LoggedModelIDPrefix = "m-"

// NewLoggedModel is what logged-models/create supplies.
type NewLoggedModel struct {
	ExperimentID, Name, ModelType, SourceRunID string
	Params                                     []Param
	Tags                                       []Tag
}

// LoggedModel is an MLflow 3 logged model: a model with its own artifact
// location, params, tags and linked metrics, owned by an experiment.
type LoggedModel struct {
	Info LoggedModelInfo `json:"info"`
	Data LoggedModelData `json:"data"`
}

// LoggedModelInfo is a logged model's attributes.
type LoggedModelInfo struct {
	ModelID                string                    `json:"model_id"`
	ExperimentID           string                    `json:"experiment_id"`
	Name                   string                    `json:"name"`
	CreationTimestampMs    Int64                     `json:"creation_timestamp_ms"`
	LastUpdatedTimestampMs Int64                     `json:"last_updated_timestamp_ms"`
	ArtifactURI            string                    `json:"artifact_uri"`
	Status                 string                    `json:"status"`
	ModelType              string                    `json:"model_type,omitempty"`
	SourceRunID            string                    `json:"source_run_id,omitempty"`
	StatusMessage          string                    `json:"status_message,omitempty"`
	Tags                   []Tag                     `json:"tags,omitempty"`
	Registrations          []LoggedModelRegistration `json:"registrations,omitempty"`
}

// LoggedModelRegistration is a registry version made from a logged model.
type LoggedModelRegistration struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// LoggedModelData is a logged model's params and linked metrics.
type LoggedModelData struct {
	Params  []Param  `json:"params,omitempty"`
	Metrics []Metric `json:"metrics,omitempty"`
}

// DatasetRef names a dataset (digest optional) in a logged-model search.
type DatasetRef struct {
	Name, Digest string
}

// LoggedModelOrder is one ordering key of a logged-model search: an
// attribute (Key is its column, e.g. creation_timestamp_ms) or, with
// Metric set, the latest value of a linked metric, optionally on one
// dataset.
type LoggedModelOrder struct {
	Key                        string
	Metric                     bool
	Desc                       bool
	DatasetName, DatasetDigest string
}

// LoggedModelQuery is a parsed logged-models/search request. Metric
// clauses of Filter match a model when any linked point does (on one of
// Datasets when given); with Datasets and no metric clause, a model must
// have a metric on one of them.
type LoggedModelQuery struct {
	ExperimentIDs []string
	Filter        []Clause
	Datasets      []DatasetRef
	OrderBy       []LoggedModelOrder
	MaxResults    int
	PageToken     string
}

// loggedModelAttrs are the attributes a logged-model filter may name.
var loggedModelAttrs = attrSet{
	"name": "id", "model_id": "id", "model_type": "id", "status": "id", "source_run_id": "id",
	"creation_timestamp_ms": "num", "creation_timestamp": "num", "creation_time": "num",
	"last_updated_timestamp_ms": "num", "last_updated_timestamp": "num",
}

// loggedModelColumn maps an attribute name or alias to its column.
func loggedModelColumn(key string) (string, bool) {
	switch key {
	case "creation_timestamp", "creation_time", "creation_timestamp_ms":
		return "creation_timestamp_ms", true
	case "last_updated_timestamp", "last_updated_timestamp_ms":
		return "last_updated_timestamp_ms", true
	case "name", "model_id", "model_type", "status", "source_run_id", "experiment_id", "artifact_location":
		return key, true
	}
	return "", false
}

// ParseLoggedModelFilter parses a logged-models/search filter. Attribute
// keys come back as column names.
func ParseLoggedModelFilter(s string) ([]Clause, error) {
	cs, err := parseFilterWith(s, loggedModelAttrs, map[Entity]bool{EntityAttribute: true, EntityMetric: true, EntityParam: true, EntityTag: true})
	if err != nil {
		return nil, err
	}
	for i := range cs {
		if cs[i].Entity == EntityAttribute {
			cs[i].Key, _ = loggedModelColumn(cs[i].Key)
		}
	}
	return cs, nil
}

// IsLoggedModelID reports whether id has the shape of a logged-model id.
func IsLoggedModelID(id string) bool {
	rest, ok := strings.CutPrefix(id, LoggedModelIDPrefix)
	return ok && rest != "" && len(rest) <= 64 && strings.Trim(rest, "0123456789abcdef") == ""
}

type (
	createLoggedModelReq struct {
		ExperimentID string  `json:"experiment_id"`
		Name         string  `json:"name"`
		ModelType    string  `json:"model_type"`
		SourceRunID  string  `json:"source_run_id"`
		Params       []Param `json:"params"`
		Tags         []Tag   `json:"tags"`
	}
	finalizeLoggedModelReq struct {
		Status *string `json:"status"`
	}
	loggedModelTagsReq struct {
		Tags []Tag `json:"tags"`
	}
	loggedModelParamsReq struct {
		Params []Param `json:"params"`
	}
	listLoggedModelArtifactsReq struct {
		Path      *string `json:"artifact_directory_path"`
		PageToken string  `json:"page_token"`
	}
	logOutputsReq struct {
		RunID  string `json:"run_id"`
		Models []struct {
			ModelID string `json:"model_id"`
			Step    *Int64 `json:"step"`
		} `json:"models"`
	}
	// searchLoggedModelsReq is MLflow 3's SearchLoggedModels request.
	searchLoggedModelsReq struct {
		ExperimentIDs *[]string `json:"experiment_ids"`
		Filter        string    `json:"filter"`
		Datasets      []struct {
			DatasetName   string `json:"dataset_name"`
			DatasetDigest string `json:"dataset_digest"`
		} `json:"datasets"`
		MaxResults *Int64 `json:"max_results"`
		OrderBy    []struct {
			FieldName     string `json:"field_name"`
			Ascending     *bool  `json:"ascending"`
			DatasetName   string `json:"dataset_name"`
			DatasetDigest string `json:"dataset_digest"`
		} `json:"order_by"`
		PageToken string `json:"page_token"`
	}
)

// handleModel is handle for routes under logged-models/{model_id}: the id
// comes from the path, the permission is the model's experiment's.
func handleModel[Req any](a *api, f func(ctx context.Context, id string, req *Req) (any, error)) endpoint {
	return handlePath(a, "model_id", func(ctx context.Context, rule Rule, id string, _ *Req) error {
		return a.authorizeModel(ctx, rule, id)
	}, f)
}

// authorizeModel checks rule on the experiment a logged model belongs to
// (a logged model's permissions are its experiment's).
func (a *api) authorizeModel(ctx context.Context, rule Rule, id string) error {
	if a.authz == nil || !rule.onResource() {
		return a.authorize(ctx, rule, nil)
	}
	m, err := a.store.GetLoggedModel(ctx, id)
	if err != nil {
		return err
	}
	return a.authorize(ctx, rule, []Resource{{KindExperiment, m.Info.ExperimentID}})
}

type modelResp struct {
	Model *LoggedModel `json:"model"`
}

func wrapModel(m *LoggedModel, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return modelResp{m}, nil
}

func validateModelTags(tags []Tag) error {
	for _, t := range tags {
		if err := ValidateTag(t); err != nil {
			return err
		}
	}
	return nil
}

func validateModelParams(params []Param) error {
	for _, p := range params {
		if err := ValidateParam(p); err != nil {
			return err
		}
	}
	return nil
}

// loggedModels serves MLflow 3's logged-model API and runs/outputs.
func (a *api) loggedModels(add func(method, path string, rule Rule, h endpoint)) {
	s := a.store
	add("POST", "logged-models", NeedEdit, handle(a, func(ctx context.Context, r *createLoggedModelReq) (any, error) {
		if err := required("experiment_id", r.ExperimentID); err != nil {
			return nil, err
		}
		if strings.Contains(r.Name, "/") || strings.Contains(r.Name, ":") || len(r.Name) > 500 {
			return nil, InvalidParameterf("Invalid model name %q: it must be at most 500 characters and contain no '/' or ':'.", r.Name)
		}
		if err := validateModelTags(r.Tags); err != nil {
			return nil, err
		}
		if err := validateModelParams(r.Params); err != nil {
			return nil, err
		}
		// As MLflow, source_run_id is recorded as given, not looked up.
		return wrapModel(s.CreateLoggedModel(ctx, NewLoggedModel{ExperimentID: r.ExperimentID, Name: r.Name, ModelType: r.ModelType,
			SourceRunID: r.SourceRunID, Params: r.Params, Tags: r.Tags}))
	}))
	add("GET", "logged-models/{model_id}", NeedRead, handleModel(a, func(ctx context.Context, id string, _ *struct{}) (any, error) {
		return wrapModel(s.GetLoggedModel(ctx, id))
	}))
	add("PATCH", "logged-models/{model_id}", NeedEdit, handleModel(a, func(ctx context.Context, id string, r *finalizeLoggedModelReq) (any, error) {
		if r.Status == nil {
			return nil, InvalidParameterf("Missing value for required parameter 'status'.")
		}
		st := *r.Status
		switch st {
		case "2":
			st = LoggedModelReady
		case "3":
			st = LoggedModelUploadFailed
		}
		if st != LoggedModelReady && st != LoggedModelUploadFailed {
			return nil, InvalidParameterf("Invalid value %q for parameter 'status'; expected LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED.", *r.Status)
		}
		return wrapModel(s.FinalizeLoggedModel(ctx, id, st))
	}))
	add("DELETE", "logged-models/{model_id}", NeedEdit, handleModel(a, func(ctx context.Context, id string, _ *struct{}) (any, error) {
		return nil, s.DeleteLoggedModel(ctx, id)
	}))
	add("PATCH", "logged-models/{model_id}/tags", NeedEdit, handleModel(a, func(ctx context.Context, id string, r *loggedModelTagsReq) (any, error) {
		if err := validateModelTags(r.Tags); err != nil {
			return nil, err
		}
		if err := s.SetLoggedModelTags(ctx, id, r.Tags); err != nil {
			return nil, err
		}
		return wrapModel(s.GetLoggedModel(ctx, id))
	}))
	add("DELETE", "logged-models/{model_id}/tags/{tag_key}", NeedEdit, raw(func(rule Rule, w http.ResponseWriter, r *http.Request) {
		if err := a.authorizeModel(r.Context(), rule, r.PathValue("model_id")); err != nil {
			a.fail(w, r, err)
			return
		}
		if err := s.DeleteLoggedModelTag(r.Context(), r.PathValue("model_id"), r.PathValue("tag_key")); err != nil {
			a.fail(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, struct{}{})
	}))
	add("POST", "logged-models/{model_id}/params", NeedEdit, handleModel(a, func(ctx context.Context, id string, r *loggedModelParamsReq) (any, error) {
		if err := validateModelParams(r.Params); err != nil {
			return nil, err
		}
		return nil, s.LogLoggedModelParams(ctx, id, r.Params)
	}))
	add("GET", "logged-models/{model_id}/artifacts/directories", NeedRead, handleModel(a, func(ctx context.Context, id string, r *listLoggedModelArtifactsReq) (any, error) {
		m, err := s.GetLoggedModel(ctx, id)
		if err != nil {
			return nil, err
		}
		rel := ""
		if r.Path != nil {
			if rel, err = artifact.CleanPath(*r.Path); err != nil {
				return nil, InvalidParameterf("Invalid path")
			}
		}
		return a.listUnder(ctx, m.Info.ArtifactURI, rel)
	}))
	add("GET", "logged-models/{model_id}/artifacts/files", NeedRead, raw(a.loggedModelArtifact))
	add("POST", "logged-models/search", SignedIn, handle(a, func(ctx context.Context, r *searchLoggedModelsReq) (any, error) {
		q, err := parseLoggedModelSearch(r)
		if err != nil {
			return nil, err
		}
		models, next, err := s.SearchLoggedModels(ctx, q)
		if err != nil {
			return nil, err
		}
		// Only models of experiments the user may read (a page can come
		// out short with auth on).
		kept := models[:0]
		for _, m := range models {
			if a.visible(ctx, KindExperiment, m.Info.ExperimentID) {
				kept = append(kept, m)
			}
		}
		models = kept
		return struct {
			Models        []LoggedModel `json:"models,omitempty"`
			NextPageToken string        `json:"next_page_token,omitempty"`
		}{models, next}, nil
	}))
	add("POST", "runs/outputs", NeedEdit, handle(a, func(ctx context.Context, r *logOutputsReq) (any, error) {
		id, err := runID(r.RunID, "")
		if err != nil {
			return nil, err
		}
		outs := make([]ModelOutput, 0, len(r.Models))
		for i, m := range r.Models {
			if m.ModelID == "" {
				return nil, InvalidParameterf("Missing value for required parameter 'models[%d].model_id'.", i)
			}
			if m.Step == nil {
				return nil, InvalidParameterf("Missing value for required parameter 'models[%d].step'.", i)
			}
			outs = append(outs, ModelOutput{ModelID: m.ModelID, Step: *m.Step})
		}
		return nil, s.LogOutputs(ctx, id, outs)
	}))
}

func parseLoggedModelSearch(r *searchLoggedModelsReq) (LoggedModelQuery, error) {
	var q LoggedModelQuery
	if r.ExperimentIDs == nil {
		return q, InvalidParameterf("Missing value for required parameter 'experiment_ids'. See the API docs for more information about request parameters.")
	}
	q.ExperimentIDs = *r.ExperimentIDs
	for _, d := range r.Datasets {
		if d.DatasetName == "" {
			return q, InvalidParameterf("`dataset_name` in the `datasets` clause must be specified.")
		}
		q.Datasets = append(q.Datasets, DatasetRef{Name: d.DatasetName, Digest: d.DatasetDigest})
	}
	var err error
	if q.Filter, err = ParseLoggedModelFilter(r.Filter); err != nil {
		return q, err
	}
	for _, o := range r.OrderBy {
		if o.FieldName == "" {
			return q, InvalidParameterf("Missing value for required parameter 'order_by.field_name'. See the API docs for more information about request parameters.")
		}
		lo := LoggedModelOrder{Desc: o.Ascending != nil && !*o.Ascending, DatasetName: o.DatasetName, DatasetDigest: o.DatasetDigest}
		if key, ok := strings.CutPrefix(o.FieldName, "metrics."); ok {
			lo.Metric, lo.Key = true, strings.Trim(key, "`")
		} else if strings.Contains(o.FieldName, ".") {
			return q, InvalidParameterf("Invalid order by field name: %s. Only metrics are supported.", o.FieldName)
		} else if col, ok := loggedModelColumn(o.FieldName); ok {
			lo.Key = col
		} else {
			return q, InvalidParameterf("Invalid order by field name: %s", o.FieldName)
		}
		if !lo.Metric && (o.DatasetName != "" || o.DatasetDigest != "") {
			return q, InvalidParameterf("`dataset_name` and `dataset_digest` in order_by may only be set for a metric, got %s", o.FieldName)
		}
		q.OrderBy = append(q.OrderBy, lo)
	}
	if q.MaxResults, err = maxResults(r.MaxResults, DefaultLoggedModelResults, MaxLoggedModelResults, "logged models"); err != nil {
		return q, err
	}
	if _, err := DecodePageToken(r.PageToken); err != nil {
		return q, InvalidParameterf("Invalid page token %q for logged models search", r.PageToken)
	}
	q.PageToken = r.PageToken
	return q, nil
}

// loggedModelArtifact streams one file of a logged model's artifacts
// (the UI's logged-models/{id}/artifacts/files?artifact_file_path=...).
func (a *api) loggedModelArtifact(rule Rule, w http.ResponseWriter, r *http.Request) {
	if err := a.authorizeModel(r.Context(), rule, r.PathValue("model_id")); err != nil {
		a.fail(w, r, err)
		return
	}
	m, err := a.store.GetLoggedModel(r.Context(), r.PathValue("model_id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rel, err := artifact.CleanPath(r.URL.Query().Get("artifact_file_path"))
	if err != nil || rel == "" {
		a.fail(w, r, InvalidParameterf("Invalid path"))
		return
	}
	a.streamArtifact(w, r, m.Info.ArtifactURI, rel)
}

// streamArtifact sends the file rel under the artifact root URI root.
func (a *api) streamArtifact(w http.ResponseWriter, r *http.Request, root, rel string) {
	repo, base, err := a.artifactRepo(root, "read")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	full := rel
	if base != "" {
		full = base + "/" + rel
	}
	rc, size, err := repo.Open(r.Context(), full)
	if err != nil {
		a.fail(w, r, repoError(rel, err))
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Content-Disposition", "attachment; filename="+strconv.Quote(filepath.Base(rel)))
	w.WriteHeader(http.StatusOK)
	io.Copy(w, rc)
}

// loggedModelURIRoot turns models:/m-<id>[/sub] into the logged model's
// artifact URI (plus sub); ok is false for other models:/ URIs.
func (a *api) loggedModelURIRoot(ctx context.Context, uri string) (root string, ok bool, err error) {
	rest, found := strings.CutPrefix(uri, "models:/")
	if !found {
		return "", false, nil
	}
	id, sub, _ := strings.Cut(rest, "/")
	if !IsLoggedModelID(id) {
		return "", false, nil
	}
	m, err := a.store.GetLoggedModel(ctx, id)
	if err != nil {
		return "", true, err
	}
	if sub == "" {
		return m.Info.ArtifactURI, true, nil
	}
	return strings.TrimRight(m.Info.ArtifactURI, "/") + "/" + sub, true, nil
}

// ModelVersionsTagKey is the logged-model tag listing the registry
// versions made from it, as JSON: [{"name": "m", "version": 1}, ...].
const ModelVersionsTagKey = "mlflow.modelVersions"

// recordModelVersion appends name/version to the logged model's
// mlflow.modelVersions tag, as MLflow's server does when a version is
// created with a model_id. The JSON is written as Python's json.dumps
// writes it, which MLflow's clients and tests compare as a string.
func (a *api) recordModelVersion(ctx context.Context, modelID, name, version string) error {
	m, err := a.store.GetLoggedModel(ctx, modelID)
	if err != nil {
		return err
	}
	type entry struct {
		Name    string `json:"name"`
		Version int64  `json:"version"`
	}
	n, _ := strconv.ParseInt(version, 10, 64)
	var list []entry
	for _, t := range m.Info.Tags {
		if t.Key == ModelVersionsTagKey {
			json.Unmarshal([]byte(t.Value), &list) // a malformed tag is replaced
		}
	}
	for _, e := range list {
		if e.Name == name && e.Version == n {
			return nil
		}
	}
	list = append(list, entry{name, n})
	var b strings.Builder
	b.WriteByte('[')
	for i, e := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		js, _ := json.Marshal(e.Name)
		fmt.Fprintf(&b, `{"name": %s, "version": %d}`, js, e.Version)
	}
	b.WriteByte(']')
	return a.store.SetLoggedModelTags(ctx, modelID, []Tag{{Key: ModelVersionsTagKey, Value: b.String()}})
}

func (r *createLoggedModelReq) resources() ([]Resource, error) {
	return []Resource{{KindExperiment, r.ExperimentID}}, nil
}

func (r *logOutputsReq) resources() ([]Resource, error) { return runResource(r.RunID, "") }
