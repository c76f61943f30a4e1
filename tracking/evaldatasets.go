package tracking

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dawn-ml/dawn/model"
)

// MLflow 3 evaluation datasets (/api/3.0/mlflow/datasets/...): named sets
// of records (inputs, expectations, outputs) shared by experiments.
//
// Permissions: a dataset's permissions are those of the experiments it
// is linked to. Reading it needs READ, changing it (tags, records, links)
// EDIT and deleting it MANAGE on every linked experiment; linking it to
// more experiments also needs EDIT on each of those. A dataset linked to
// no experiment belongs to no one's experiment: only admins may create,
// read or change it (with auth off, everyone may).

// EvalDatasetIDPrefix starts every dataset id ("d-" + 32 hex digits).
const EvalDatasetIDPrefix = "d-"

// EvalRecordIDPrefix starts every record id ("dr-" + 32 hex digits).
const EvalRecordIDPrefix = "dr-"

// Bounds of the dataset API. Records per upsert are bounded by the
// request size (MaxRequestBytes).
const (
	DefaultEvalDatasetResults = 1000
	MaxEvalDatasetResults     = 50000
	DefaultEvalRecordResults  = 1000
	MaxEvalRecordResults      = 10000
	MaxEvalDatasetName        = 255
	MaxEvalTagKey             = 255
	MaxEvalTagValue           = 5000
	MaxEvalDatasetExperiments = 1000
)

// EvalDataset is an evaluation dataset's metadata (records are read
// apart, page by page).
type EvalDataset struct {
	DatasetID      string
	Name           string
	Tags           []Tag // sorted by key
	Schema         string
	Profile        string
	Digest         string
	CreatedTime    int64
	LastUpdateTime int64
	CreatedBy      string
	LastUpdatedBy  string
	// ExperimentIDs is nil when not loaded: MLflow answers get, search
	// and the link calls without it (clients ask experiment-ids).
	ExperimentIDs []string
}

// MarshalJSON writes MLflow's Dataset message: tags as a JSON string.
func (d EvalDataset) MarshalJSON() ([]byte, error) {
	tags := make([]field, 0, len(d.Tags))
	for _, t := range d.Tags {
		tags = append(tags, field{t.Key, jsonString(t.Value)})
	}
	return json.Marshal(struct {
		DatasetID      string   `json:"dataset_id"`
		Name           string   `json:"name"`
		Tags           string   `json:"tags"`
		Schema         string   `json:"schema,omitempty"`
		Profile        string   `json:"profile,omitempty"`
		Digest         string   `json:"digest"`
		CreatedTime    int64    `json:"created_time"`
		LastUpdateTime int64    `json:"last_update_time"`
		CreatedBy      string   `json:"created_by,omitempty"`
		LastUpdatedBy  string   `json:"last_updated_by,omitempty"`
		ExperimentIDs  []string `json:"experiment_ids,omitempty"`
	}{d.DatasetID, d.Name, model.PythonJSON(string(encodeFields(tags))), d.Schema, d.Profile, d.Digest, d.CreatedTime, d.LastUpdateTime,
		d.CreatedBy, d.LastUpdatedBy, d.ExperimentIDs})
}

// NewEvalDataset is what datasets/create supplies.
type NewEvalDataset struct {
	Name          string
	Tags          []Tag
	ExperimentIDs []string
}

// EvalDatasetQuery is a parsed datasets/search request: datasets linked
// to any of ExperimentIDs (all when empty) matching every clause.
type EvalDatasetQuery struct {
	ExperimentIDs []string
	Filter        []Clause
	OrderBy       []OrderBy
	MaxResults    int
	PageToken     string
}

// EvalDatasets is the evaluation-dataset part of a Store.
type EvalDatasets interface {
	// CreateEvalDataset checks the experiments exist.
	CreateEvalDataset(ctx context.Context, d NewEvalDataset) (*EvalDataset, error)
	GetEvalDataset(ctx context.Context, id string) (*EvalDataset, error)
	// DeleteEvalDataset removes the dataset, its records and links; a
	// missing dataset is no error (MLflow's).
	DeleteEvalDataset(ctx context.Context, id string) error
	SearchEvalDatasets(ctx context.Context, q EvalDatasetQuery) ([]EvalDataset, string, error)
	// SetEvalDatasetTags upserts tags.
	SetEvalDatasetTags(ctx context.Context, id string, tags []Tag) error
	// DeleteEvalDatasetTag is a no-op for a missing dataset or tag.
	DeleteEvalDatasetTag(ctx context.Context, id, key string) error
	// UpsertEvalRecords inserts records with new inputs and merges the
	// others (MergeEvalRecord), then updates the dataset's schema,
	// profile, digest and last update, all in one transaction.
	UpsertEvalRecords(ctx context.Context, id string, recs []EvalRecordInput) (inserted, updated int, err error)
	// EvalRecords pages through records in (created_time, record id)
	// order; the token is EncodeRecordToken of the last record returned.
	EvalRecords(ctx context.Context, id, pageToken string, max int) ([]EvalRecord, string, error)
	EvalDatasetExperimentIDs(ctx context.Context, id string) ([]string, error)
	// AddEvalDatasetExperiments links the dataset to experiments (which
	// must exist); links already there are kept.
	AddEvalDatasetExperiments(ctx context.Context, id string, experimentIDs []string) (*EvalDataset, error)
	// RemoveEvalDatasetExperiments unlinks; ids not linked are ignored.
	RemoveEvalDatasetExperiments(ctx context.Context, id string, experimentIDs []string) (*EvalDataset, error)
}

// EvalDatasetNotFound is MLflow's answer for a missing dataset.
func EvalDatasetNotFound(id string) error {
	return NotFoundf("Evaluation dataset with id '%s' not found", id)
}

// EncodeRecordToken is the page token after a record: base64 of
// "<created_time>:<record id>", as MLflow writes it.
func EncodeRecordToken(createdTime int64, recordID string) string {
	return base64.StdEncoding.EncodeToString([]byte(strconv.FormatInt(createdTime, 10) + ":" + recordID))
}

// DecodeRecordToken reads EncodeRecordToken's token.
func DecodeRecordToken(tok string) (int64, string, error) {
	b, err := base64.StdEncoding.DecodeString(tok)
	if err == nil {
		ts, id, ok := strings.Cut(string(b), ":")
		if n, perr := strconv.ParseInt(ts, 10, 64); ok && perr == nil {
			return n, id, nil
		}
	}
	return 0, "", InvalidParameterf("Invalid page token %q for dataset records", tok)
}

// pythonStr renders a JSON scalar as Python's str() of its value, which is
// how MLflow stores tag and param values it is given as JSON; null is
// reported as ok=false. Lists and objects come back as compact JSON.
func pythonStr(raw json.RawMessage) (string, bool) {
	t := bytes.TrimSpace(raw)
	switch {
	case len(t) == 0 || string(t) == "null":
		return "", false
	case string(t) == "true":
		return "True", true
	case string(t) == "false":
		return "False", true
	case t[0] == '"':
		var s string
		json.Unmarshal(t, &s)
		return s, true
	}
	return string(compact(t)), true
}

// parseEvalTags reads a JSON object of tags (tag values of other types are
// stored as Python's str() of them; null values are skipped, as MLflow).
func parseEvalTags(s string) ([]Tag, error) {
	if !isObject(json.RawMessage(s)) {
		return nil, InvalidParameterf("Invalid value for parameter 'tags': it must be a JSON object of tag keys and values, got %.100q", s)
	}
	fs, err := objectFields(json.RawMessage(s))
	if err != nil {
		return nil, InvalidParameterf("Invalid value for parameter 'tags': %v", err)
	}
	var tags []Tag
	for _, f := range fs {
		v, ok := pythonStr(f.Val)
		if !ok {
			continue
		}
		if f.Key == "" || utf8.RuneCountInString(f.Key) > MaxEvalTagKey {
			return nil, InvalidParameterf("Invalid dataset tag key %.40q: it must be 1 to %d characters", f.Key, MaxEvalTagKey)
		}
		if utf8.RuneCountInString(v) > MaxEvalTagValue {
			return nil, InvalidParameterf("Dataset tag %q has a value of %d characters, over the limit of %d", f.Key, utf8.RuneCountInString(v), MaxEvalTagValue)
		}
		tags = upsertTag(tags, Tag{f.Key, v})
	}
	return tags, nil
}

// upsertTag replaces the tag of the same key or appends t.
func upsertTag(tags []Tag, t Tag) []Tag {
	for i := range tags {
		if tags[i].Key == t.Key {
			tags[i] = t
			return tags
		}
	}
	return append(tags, t)
}

// evalDatasetAttrs are the attributes a datasets/search filter may name.
var evalDatasetAttrs = attrSet{"name": "str", "created_by": "str", "last_updated_by": "str", "created_time": "num", "last_update_time": "num"}

// evalDatasetOrderAttrs are those order_by may name.
var evalDatasetOrderAttrs = attrSet{"name": "str", "created_time": "num", "last_update_time": "num"}

// ParseEvalDatasetFilter parses a datasets/search filter_string.
func ParseEvalDatasetFilter(s string) ([]Clause, error) {
	return parseFilterWith(s, evalDatasetAttrs, map[Entity]bool{EntityAttribute: true, EntityTag: true})
}

// ParseEvalDatasetOrderBy parses datasets/search order_by entries.
func ParseEvalDatasetOrderBy(list []string) ([]OrderBy, error) {
	return parseOrders(list, evalDatasetOrderAttrs, map[Entity]bool{EntityAttribute: true})
}

type (
	createEvalDatasetReq struct {
		Name          string   `json:"name"`
		ExperimentIDs []string `json:"experiment_ids"`
		Tags          *string  `json:"tags"`
	}
	searchEvalDatasetsReq struct {
		ExperimentIDs []string `json:"experiment_ids"`
		Filter        string   `json:"filter_string"`
		MaxResults    *Int64   `json:"max_results"`
		OrderBy       []string `json:"order_by"`
		PageToken     string   `json:"page_token"`
	}
	evalTagsReq struct {
		Tags *string `json:"tags"`
	}
	upsertEvalRecordsReq struct {
		Records *string `json:"records"`
	}
	evalRecordsReq struct {
		MaxResults *Int64 `json:"max_results"`
		PageToken  string `json:"page_token"`
	}
	evalExperimentsReq struct {
		ExperimentIDs []string `json:"experiment_ids"`
	}
)

// resources: creating a dataset needs EDIT on the experiments it is
// created in (none: admins only, see the package comment above).
func (r *createEvalDatasetReq) resources() ([]Resource, error) {
	rs := make([]Resource, 0, len(r.ExperimentIDs))
	for _, id := range r.ExperimentIDs {
		rs = append(rs, Resource{KindExperiment, id})
	}
	return rs, nil
}

// authorizeDataset checks rule on every experiment the dataset is linked
// to and on extra (experiments a request links it to).
func (a *api) authorizeDataset(ctx context.Context, rule Rule, id string, extra []string) error {
	if a.authz == nil || !rule.onResource() {
		return a.authorize(ctx, rule, nil)
	}
	exps, err := a.store.EvalDatasetExperimentIDs(ctx, id)
	if err != nil {
		return err
	}
	rs := make([]Resource, 0, len(exps)+len(extra))
	for _, e := range append(exps, extra...) {
		rs = append(rs, Resource{KindExperiment, e})
	}
	return a.authorize(ctx, rule, rs)
}

// datasetVisible reports whether the user may read the dataset (READ on
// every linked experiment; admins only when it has none).
func (a *api) datasetVisible(ctx context.Context, d *EvalDataset) bool {
	if a.authz == nil || a.authz.IsAdmin(ctx) {
		return true
	}
	exps := d.ExperimentIDs
	if exps == nil {
		var err error
		if exps, err = a.store.EvalDatasetExperimentIDs(ctx, d.DatasetID); err != nil {
			return false
		}
	}
	if len(exps) == 0 {
		return false
	}
	for _, e := range exps {
		if !a.authz.Allowed(ctx, KindExperiment, e, NeedRead) {
			return false
		}
	}
	return true
}

// handleDataset is handle for routes under datasets/{dataset_id}: the id
// comes from the path; extra names experiments the request links.
func handleDataset[Req any](a *api, extra func(*Req) []string, f func(ctx context.Context, id string, req *Req) (any, error)) endpoint {
	return handlePath(a, "dataset_id", func(ctx context.Context, rule Rule, id string, req *Req) error {
		var more []string
		if extra != nil {
			more = extra(req)
		}
		return a.authorizeDataset(ctx, rule, id, more)
	}, f)
}

type datasetResp struct {
	Dataset *EvalDataset `json:"dataset"`
}

func wrapDataset(d *EvalDataset, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return datasetResp{d}, nil
}

// experimentList checks a request's experiment ids.
func experimentList(ids []string) error {
	if len(ids) > MaxEvalDatasetExperiments {
		return InvalidParameterf("A request may name at most %d experiment_ids, got %d", MaxEvalDatasetExperiments, len(ids))
	}
	for _, id := range ids {
		if id == "" {
			return InvalidParameterf("experiment_ids may not contain an empty id")
		}
	}
	return nil
}

// evalDatasets serves MLflow 3's evaluation-dataset API.
func (a *api) evalDatasets(add func(method, path string, rule Rule, h endpoint)) {
	s := a.store
	add("POST", V3+"datasets/create", NeedEdit, handle(a, func(ctx context.Context, r *createEvalDatasetReq) (any, error) {
		if err := required("name", r.Name); err != nil {
			return nil, err
		}
		if utf8.RuneCountInString(r.Name) > MaxEvalDatasetName {
			return nil, InvalidParameterf("Dataset name '%.40s...' is longer than %d characters", r.Name, MaxEvalDatasetName)
		}
		if err := experimentList(r.ExperimentIDs); err != nil {
			return nil, err
		}
		nd := NewEvalDataset{Name: r.Name, ExperimentIDs: r.ExperimentIDs}
		if r.Tags != nil && *r.Tags != "" {
			var err error
			if nd.Tags, err = parseEvalTags(*r.Tags); err != nil {
				return nil, err
			}
		}
		return wrapDataset(s.CreateEvalDataset(ctx, nd))
	}))
	search := handle(a, func(ctx context.Context, r *searchEvalDatasetsReq) (any, error) {
		var q EvalDatasetQuery
		var err error
		if err := experimentList(r.ExperimentIDs); err != nil {
			return nil, err
		}
		q.ExperimentIDs = r.ExperimentIDs
		if q.MaxResults, err = maxResults(r.MaxResults, DefaultEvalDatasetResults, MaxEvalDatasetResults, "evaluation datasets"); err != nil {
			return nil, err
		}
		if q.Filter, err = ParseEvalDatasetFilter(r.Filter); err != nil {
			return nil, err
		}
		if q.OrderBy, err = ParseEvalDatasetOrderBy(r.OrderBy); err != nil {
			return nil, err
		}
		if _, err := DecodePageToken(r.PageToken); err != nil {
			return nil, err
		}
		q.PageToken = r.PageToken
		ds, next, err := s.SearchEvalDatasets(ctx, q)
		if err != nil {
			return nil, err
		}
		// Only datasets the user may read (a page can come out short with
		// auth on).
		kept := ds[:0]
		for i := range ds {
			if a.datasetVisible(ctx, &ds[i]) {
				kept = append(kept, ds[i])
			}
		}
		return struct {
			Datasets      []EvalDataset `json:"datasets,omitempty"`
			NextPageToken string        `json:"next_page_token,omitempty"`
		}{kept, next}, nil
	})
	add("POST", V3+"datasets/search", SignedIn, search)
	add("GET", V3+"datasets/search", SignedIn, search)
	add("GET", V3+"datasets/{dataset_id}", NeedRead, handleDataset(a, nil, func(ctx context.Context, id string, _ *struct{}) (any, error) {
		return wrapDataset(s.GetEvalDataset(ctx, id))
	}))
	add("DELETE", V3+"datasets/{dataset_id}", NeedManage, handleDataset(a, nil, func(ctx context.Context, id string, _ *struct{}) (any, error) {
		return nil, s.DeleteEvalDataset(ctx, id)
	}))
	add("PATCH", V3+"datasets/{dataset_id}/tags", NeedEdit, handleDataset(a, nil, func(ctx context.Context, id string, r *evalTagsReq) (any, error) {
		if r.Tags == nil {
			return nil, InvalidParameterf("Missing value for required parameter 'tags'.")
		}
		tags, err := parseEvalTags(*r.Tags)
		if err != nil {
			return nil, err
		}
		return nil, s.SetEvalDatasetTags(ctx, id, tags)
	}))
	add("DELETE", V3+"datasets/{dataset_id}/tags/{key}", NeedEdit, raw(func(rule Rule, w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("dataset_id")
		if err := a.authorizeDataset(r.Context(), rule, id, nil); err != nil {
			a.fail(w, r, err)
			return
		}
		serveValue(a, w, r, func(ctx context.Context) (any, error) {
			return nil, s.DeleteEvalDatasetTag(ctx, id, r.PathValue("key"))
		})
	}))
	add("POST", V3+"datasets/{dataset_id}/records", NeedEdit, handleDataset(a, nil, func(ctx context.Context, id string, r *upsertEvalRecordsReq) (any, error) {
		if r.Records == nil {
			return nil, InvalidParameterf("Missing value for required parameter 'records'.")
		}
		recs, err := ParseEvalRecords(*r.Records)
		if err != nil {
			return nil, err
		}
		ins, upd, err := s.UpsertEvalRecords(ctx, id, recs)
		if err != nil {
			return nil, err
		}
		return struct {
			Inserted int `json:"inserted_count"`
			Updated  int `json:"updated_count"`
		}{ins, upd}, nil
	}))
	add("GET", V3+"datasets/{dataset_id}/records", NeedRead, handleDataset(a, nil, func(ctx context.Context, id string, r *evalRecordsReq) (any, error) {
		max := DefaultEvalRecordResults
		if r.MaxResults != nil && *r.MaxResults != 0 {
			var err error
			if max, err = maxResults(r.MaxResults, DefaultEvalRecordResults, MaxEvalRecordResults, "dataset records"); err != nil {
				return nil, err
			}
		}
		if r.PageToken != "" {
			if _, _, err := DecodeRecordToken(r.PageToken); err != nil {
				return nil, err
			}
		}
		recs, next, err := s.EvalRecords(ctx, id, r.PageToken, max)
		if err != nil {
			return nil, err
		}
		if recs == nil {
			recs = []EvalRecord{}
		}
		b, err := json.Marshal(recs)
		if err != nil {
			return nil, err
		}
		return struct {
			Records       string `json:"records"`
			NextPageToken string `json:"next_page_token,omitempty"`
		}{model.PythonJSON(string(b)), next}, nil
	}))
	add("GET", V3+"datasets/{dataset_id}/experiment-ids", NeedRead, handleDataset(a, nil, func(ctx context.Context, id string, _ *struct{}) (any, error) {
		if _, err := s.GetEvalDataset(ctx, id); err != nil {
			return nil, err
		}
		ids, err := s.EvalDatasetExperimentIDs(ctx, id)
		if err != nil {
			return nil, err
		}
		return struct {
			ExperimentIDs []string `json:"experiment_ids,omitempty"`
		}{ids}, nil
	}))
	linked := func(r *evalExperimentsReq) []string { return r.ExperimentIDs }
	add("POST", V3+"datasets/{dataset_id}/add-experiments", NeedEdit, handleDataset(a, linked, func(ctx context.Context, id string, r *evalExperimentsReq) (any, error) {
		if err := experimentList(r.ExperimentIDs); err != nil {
			return nil, err
		}
		return wrapDataset(s.AddEvalDatasetExperiments(ctx, id, r.ExperimentIDs))
	}))
	add("POST", V3+"datasets/{dataset_id}/remove-experiments", NeedEdit, handleDataset(a, nil, func(ctx context.Context, id string, r *evalExperimentsReq) (any, error) {
		if err := experimentList(r.ExperimentIDs); err != nil {
			return nil, err
		}
		return wrapDataset(s.RemoveEvalDatasetExperiments(ctx, id, r.ExperimentIDs))
	}))
}

// SortTags orders tags by key, the order stores return them in.
func SortTags(tags []Tag) {
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
}
