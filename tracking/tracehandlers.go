package tracking

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/dawn-ml/dawn/internal/httpx"
)

// OTLPTracesPath is OTLP/HTTP's trace export path, which MLflow serves.
const OTLPTracesPath = "/v1/traces"

// ExperimentIDHeader names the experiment OTLP spans are logged to.
const ExperimentIDHeader = "x-mlflow-experiment-id"

// Request types of the trace endpoints.
type (
	startTraceV2Req struct {
		ExperimentID    string         `json:"experiment_id"`
		TimestampMs     Int64          `json:"timestamp_ms"`
		RequestMetadata []keyValueWire `json:"request_metadata"`
		Tags            []keyValueWire `json:"tags"`
	}
	endTraceV2Req struct {
		TimestampMs     Int64          `json:"timestamp_ms"`
		Status          Enum           `json:"status"`
		RequestMetadata []keyValueWire `json:"request_metadata"`
		Tags            []keyValueWire `json:"tags"`
	}
	searchTracesV2Req struct {
		ExperimentIDs []string `json:"experiment_ids"`
		Filter        string   `json:"filter"`
		MaxResults    *Int64   `json:"max_results"`
		OrderBy       []string `json:"order_by"`
		PageToken     string   `json:"page_token"`
	}
	searchTracesV3Req struct {
		Locations  []traceLocationWire `json:"locations"`
		Filter     string              `json:"filter"`
		MaxResults *Int64              `json:"max_results"`
		OrderBy    []string            `json:"order_by"`
		PageToken  string              `json:"page_token"`
	}
	traceTagReq struct {
		Key   string  `json:"key"`
		Value *string `json:"value"`
	}
	deleteTracesReq struct {
		ExperimentID       string   `json:"experiment_id"`
		MaxTimestampMillis *Int64   `json:"max_timestamp_millis"`
		MaxTraces          *Int64   `json:"max_traces"`
		RequestIDs         []string `json:"request_ids"`
	}
	linkTracesReq struct {
		TraceIDs []string `json:"trace_ids"`
		RunID    string   `json:"run_id"`
	}
	startTraceV3Req struct {
		Trace *struct {
			TraceInfo *traceInfoV3Wire `json:"trace_info"`
		} `json:"trace"`
	}
	getTraceReq struct {
		TraceID      string `json:"trace_id"`
		AllowPartial bool   `json:"allow_partial"`
	}
	batchGetTracesReq struct {
		TraceIDs []string `json:"trace_ids"`
	}
	correlationReq struct {
		ExperimentIDs []string `json:"experiment_ids"`
		Filter1       *string  `json:"filter_string1"`
		Filter2       *string  `json:"filter_string2"`
		BaseFilter    string   `json:"base_filter"`
	}
	traceArtifactReq struct {
		RequestID string `json:"request_id"`
	}
	assessmentReq struct {
		Assessment *Assessment     `json:"assessment"`
		UpdateMask json.RawMessage `json:"update_mask"`
	}
)

func experimentsResources(ids []string) ([]Resource, error) {
	if len(ids) == 0 {
		return nil, InvalidParameterf("Missing value for required parameter 'experiment_ids'.")
	}
	rs := make([]Resource, 0, len(ids))
	for _, id := range ids {
		rs = append(rs, Resource{KindExperiment, id})
	}
	return rs, nil
}

func tracesResources(ids []string) ([]Resource, error) {
	if len(ids) == 0 {
		return nil, InvalidParameterf("Missing value for required parameter 'trace_ids'.")
	}
	if len(ids) > MaxTraceIDsPerRequest {
		return nil, InvalidParameterf("At most %d trace ids may be given in one request, got %d", MaxTraceIDsPerRequest, len(ids))
	}
	rs := make([]Resource, 0, len(ids))
	for _, id := range ids {
		if err := ValidateTraceID(id); err != nil {
			return nil, err
		}
		rs = append(rs, Resource{KindTrace, id})
	}
	return rs, nil
}

func (r *startTraceV2Req) resources() ([]Resource, error) { return experimentResource(r.ExperimentID) }
func (r *searchTracesV2Req) resources() ([]Resource, error) {
	return experimentsResources(r.ExperimentIDs)
}
func (r *searchTracesV3Req) resources() ([]Resource, error) {
	ids, err := r.experimentIDs()
	if err != nil {
		return nil, err
	}
	return experimentsResources(ids)
}
func (r *deleteTracesReq) resources() ([]Resource, error) { return experimentResource(r.ExperimentID) }
func (r *linkTracesReq) resources() ([]Resource, error) {
	rs, err := tracesResources(r.TraceIDs)
	if err != nil {
		return nil, err
	}
	run, err := runResource(r.RunID, "")
	if err != nil {
		return nil, err
	}
	return append(run, rs...), nil
}
func (r *startTraceV3Req) resources() ([]Resource, error) {
	info, err := r.info()
	if err != nil {
		return nil, err
	}
	return experimentResource(info.ExperimentID)
}
func (r *getTraceReq) resources() ([]Resource, error) {
	if err := ValidateTraceID(r.TraceID); err != nil {
		return nil, err
	}
	return []Resource{{KindTrace, r.TraceID}}, nil
}
func (r *batchGetTracesReq) resources() ([]Resource, error) { return tracesResources(r.TraceIDs) }
func (r *correlationReq) resources() ([]Resource, error) {
	return experimentsResources(r.ExperimentIDs)
}
func (r *traceArtifactReq) resources() ([]Resource, error) {
	if r.RequestID == "" {
		return nil, codeErr(http.StatusBadRequest, CodeBadRequest, ErrInvalid, `Request must include the "request_id" query parameter.`)
	}
	if err := ValidateTraceID(r.RequestID); err != nil {
		return nil, err
	}
	return []Resource{{KindTrace, r.RequestID}}, nil
}

func (r *searchTracesV3Req) experimentIDs() ([]string, error) {
	if len(r.Locations) == 0 {
		return nil, InvalidParameterf("Missing value for required parameter 'locations'.")
	}
	var ids []string
	for _, l := range r.Locations {
		if l.MlflowExperiment != nil && l.MlflowExperiment.ExperimentID != "" {
			ids = append(ids, l.MlflowExperiment.ExperimentID)
		}
	}
	if len(ids) == 0 {
		return nil, InvalidParameterf("Locations must be a list of experiment IDs.")
	}
	return ids, nil
}

func (r *startTraceV3Req) info() (TraceInfo, error) {
	if r.Trace == nil || r.Trace.TraceInfo == nil {
		return TraceInfo{}, InvalidParameterf("Missing value for required parameter 'trace'.")
	}
	return r.Trace.TraceInfo.info()
}

// tracePath holds the path values of a route under traces/{trace_id}.
type tracePath struct{ ID, AssessmentID string }

// handleTrace is handle for routes whose trace id is the path value
// param: the rule is checked on the trace's experiment.
func handleTrace[Req any](a *api, param string, f func(ctx context.Context, p tracePath, req *Req) (any, error)) endpoint {
	check := func(ctx context.Context, rule Rule, id string, _ *Req) error {
		if err := ValidateTraceID(id); err != nil {
			return err
		}
		return a.authorize(ctx, rule, []Resource{{KindTrace, id}})
	}
	return func(rule Rule) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			p := tracePath{ID: r.PathValue(param), AssessmentID: r.PathValue("assessment_id")}
			handlePath(a, param, check, func(ctx context.Context, _ string, req *Req) (any, error) { return f(ctx, p, req) })(rule)(w, r)
		}
	}
}

func newTraceIDV2() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func traceSearchQuery(ids []string, filter string, max *Int64, order []string, token string) (TraceQuery, error) {
	q := TraceQuery{ExperimentIDs: ids, PageToken: token}
	var err error
	if q.Filter, err = ParseTraceFilter(filter); err != nil {
		return q, err
	}
	if q.OrderBy, err = ParseTraceOrderBy(order); err != nil {
		return q, err
	}
	if q.MaxResults, err = maxResults(max, DefaultTraceResults, MaxTraceResults, "traces"); err != nil {
		return q, err
	}
	if _, err := DecodePageToken(token); err != nil {
		return q, err
	}
	return q, nil
}

type traceWire struct {
	TraceInfo traceInfoV3Wire `json:"trace_info"`
	Spans     []any           `json:"spans,omitempty"`
}

// traces serves MLflow's trace APIs: the v2 ones under /api/2.0/mlflow/,
// the v3 ones under /api/3.0/mlflow/, and OTLP span export at /v1/traces.
func (a *api) traces(add func(method, path string, rule Rule, h endpoint)) {
	s := a.store
	v2 := func(t *TraceInfo, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		return map[string]any{"trace_info": t.v2()}, nil
	}
	v3 := func(t *TraceInfo, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		return map[string]any{"trace": traceWire{TraceInfo: t.v3()}}, nil
	}

	// The v2 (legacy) API.
	add("POST", "traces", NeedEdit, handle(a, func(ctx context.Context, r *startTraceV2Req) (any, error) {
		md, tags := kvMap(r.RequestMetadata), kvMap(r.Tags)
		if err := validateTraceKV(tags, md); err != nil {
			return nil, err
		}
		return v2(s.StartTrace(ctx, TraceInfo{TraceID: newTraceIDV2(), ExperimentID: r.ExperimentID, RequestTimeMs: int64(r.TimestampMs),
			State: TraceInProgress, Metadata: md, Tags: tags}))
	}))
	add("PATCH", "traces/{request_id}", NeedEdit, handleTrace(a, "request_id", func(ctx context.Context, p tracePath, r *endTraceV2Req) (any, error) {
		st, err := traceState(r.Status)
		if err != nil {
			return nil, err
		}
		md, tags := kvMap(r.RequestMetadata), kvMap(r.Tags)
		if err := validateTraceKV(tags, md); err != nil {
			return nil, err
		}
		return v2(s.EndTraceV2(ctx, p.ID, int64(r.TimestampMs), st, md, tags))
	}))
	add("GET", "traces/{request_id}/info", NeedRead, handleTrace(a, "request_id", func(ctx context.Context, p tracePath, _ *struct{}) (any, error) {
		return v2(s.GetTraceInfo(ctx, p.ID))
	}))
	add("GET", "traces", NeedRead, handle(a, func(ctx context.Context, r *searchTracesV2Req) (any, error) {
		q, err := traceSearchQuery(r.ExperimentIDs, r.Filter, r.MaxResults, r.OrderBy, r.PageToken)
		if err != nil {
			return nil, err
		}
		infos, next, err := s.SearchTraces(ctx, q)
		if err != nil {
			return nil, err
		}
		out := make([]traceInfoV2Wire, 0, len(infos))
		for i := range infos {
			out = append(out, infos[i].v2())
		}
		return struct {
			Traces        []traceInfoV2Wire `json:"traces,omitempty"`
			NextPageToken string            `json:"next_page_token,omitempty"`
		}{out, next}, nil
	}))
	for _, path := range []string{"traces/{trace_id}/tags", V3 + "traces/{trace_id}/tags"} {
		add("PATCH", path, NeedEdit, handleTrace(a, "trace_id", func(ctx context.Context, p tracePath, r *traceTagReq) (any, error) {
			v := ""
			if r.Value != nil {
				v = *r.Value
			}
			if err := ValidateTag(Tag{Key: r.Key, Value: v}); err != nil {
				return nil, err
			}
			return nil, s.SetTraceTag(ctx, p.ID, r.Key, v)
		}))
		add("DELETE", path, NeedEdit, handleTrace(a, "trace_id", func(ctx context.Context, p tracePath, r *traceTagReq) (any, error) {
			if err := required("key", r.Key); err != nil {
				return nil, err
			}
			return nil, s.DeleteTraceTag(ctx, p.ID, r.Key)
		}))
	}
	for _, path := range []string{"traces/delete-traces", V3 + "traces/delete-traces"} {
		add("POST", path, NeedEdit, handle(a, func(ctx context.Context, r *deleteTracesReq) (any, error) {
			d, err := r.deletion()
			if err != nil {
				return nil, err
			}
			n, err := s.DeleteTraces(ctx, d)
			if err != nil {
				return nil, err
			}
			return map[string]int{"traces_deleted": n}, nil
		}))
	}
	add("POST", "traces/link-to-run", NeedEdit, handle(a, func(ctx context.Context, r *linkTracesReq) (any, error) {
		if _, err := r.resources(); err != nil {
			return nil, err
		}
		return nil, s.LinkTracesToRun(ctx, r.TraceIDs, r.RunID)
	}))
	add("GET", "get-trace-artifact", NeedRead, raw(a.traceArtifact))

	// The v3 API.
	add("POST", V3+"traces", NeedEdit, handle(a, func(ctx context.Context, r *startTraceV3Req) (any, error) {
		info, err := r.info()
		if err != nil {
			return nil, err
		}
		// Spans come by /v1/traces into the store, so the client uploads
		// no traces.json.
		if info.Tags == nil {
			info.Tags = map[string]string{}
		}
		info.Tags[TraceTagSpansLocation] = SpansInTrackingStore
		info.Assessments = nil
		return v3(s.StartTrace(ctx, info))
	}))
	add("GET", V3+"traces/{trace_id}", NeedRead, handleTrace(a, "trace_id", func(ctx context.Context, p tracePath, _ *struct{}) (any, error) {
		return v3(s.GetTraceInfo(ctx, p.ID))
	}))
	add("GET", V3+"traces/get", NeedRead, handle(a, func(ctx context.Context, r *getTraceReq) (any, error) {
		t, err := a.fullTrace(ctx, r.TraceID, r.AllowPartial)
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, NotFoundf("Trace with ID %s is not fully exported yet, please try again later.", r.TraceID)
		}
		return map[string]any{"trace": t}, nil
	}))
	add("GET", V3+"traces/batchGet", NeedRead, handle(a, func(ctx context.Context, r *batchGetTracesReq) (any, error) {
		if _, err := r.resources(); err != nil {
			return nil, err
		}
		out := []*traceWire{}
		for _, id := range r.TraceIDs {
			t, err := a.fullTrace(ctx, id, false)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if t != nil {
				out = append(out, t)
			}
		}
		return map[string]any{"traces": out}, nil
	}))
	add("POST", V3+"traces/search", NeedRead, handle(a, func(ctx context.Context, r *searchTracesV3Req) (any, error) {
		ids, err := r.experimentIDs()
		if err != nil {
			return nil, err
		}
		q, err := traceSearchQuery(ids, r.Filter, r.MaxResults, r.OrderBy, r.PageToken)
		if err != nil {
			return nil, err
		}
		infos, next, err := s.SearchTraces(ctx, q)
		if err != nil {
			return nil, err
		}
		out := make([]traceInfoV3Wire, 0, len(infos))
		for i := range infos {
			out = append(out, infos[i].v3())
		}
		return struct {
			Traces        []traceInfoV3Wire `json:"traces,omitempty"`
			NextPageToken string            `json:"next_page_token,omitempty"`
		}{out, next}, nil
	}))
	add("POST", V3+"traces/calculate-filter-correlation", NeedRead, handle(a, a.correlation))

	// Assessments.
	add("POST", V3+"traces/{trace_id}/assessments", NeedEdit, handleTrace(a, "trace_id", func(ctx context.Context, p tracePath, r *assessmentReq) (any, error) {
		if r.Assessment == nil {
			return nil, InvalidParameterf("Missing value for required parameter 'assessment'.")
		}
		as := *r.Assessment
		if err := checkNewAssessment(&as); err != nil {
			return nil, err
		}
		now := nowMillis()
		as.TraceID, as.AssessmentID = p.ID, NewAssessmentID()
		if as.CreateTime == "" {
			as.CreateTime = pbTime(now)
		} else if _, err := parsePBTime("assessment.create_time", as.CreateTime); err != nil {
			return nil, err
		}
		as.LastUpdateTime = as.CreateTime
		if as.Valid == nil {
			t := true
			as.Valid = &t
		}
		return wrapAssessment(s.CreateAssessment(ctx, as))
	}))
	assessmentPath := V3 + "traces/{trace_id}/assessments/{assessment_id}"
	add("GET", assessmentPath, NeedRead, handleTrace(a, "trace_id", func(ctx context.Context, p tracePath, _ *struct{}) (any, error) {
		return wrapAssessment(s.GetAssessment(ctx, p.ID, p.AssessmentID))
	}))
	add("PATCH", assessmentPath, NeedEdit, handleTrace(a, "trace_id", func(ctx context.Context, p tracePath, r *assessmentReq) (any, error) {
		if r.Assessment == nil {
			return nil, InvalidParameterf("Missing value for required parameter 'assessment'.")
		}
		paths, err := maskPaths(r.UpdateMask)
		if err != nil {
			return nil, err
		}
		u, err := assessmentUpdate(r.Assessment, paths)
		if err != nil {
			return nil, err
		}
		return wrapAssessment(s.UpdateAssessment(ctx, p.ID, p.AssessmentID, u))
	}))
	add("DELETE", assessmentPath, NeedEdit, handleTrace(a, "trace_id", func(ctx context.Context, p tracePath, _ *struct{}) (any, error) {
		return nil, s.DeleteAssessment(ctx, p.ID, p.AssessmentID)
	}))

	add("POST", OTLPTracesPath, NeedEdit, raw(a.otlpExport))
}

func wrapAssessment(as *Assessment, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return map[string]any{"assessment": as}, nil
}

func (r *deleteTracesReq) deletion() (TraceDeletion, error) {
	d := TraceDeletion{ExperimentID: r.ExperimentID, TraceIDs: r.RequestIDs}
	if err := required("experiment_id", r.ExperimentID); err != nil {
		return d, err
	}
	if r.MaxTimestampMillis != nil {
		v := int64(*r.MaxTimestampMillis)
		d.MaxTimestampMs = &v
	}
	if r.MaxTraces != nil {
		if *r.MaxTraces <= 0 || *r.MaxTraces > math.MaxInt32 {
			return d, InvalidParameterf("Invalid value %d for parameter 'max_traces': it must be a positive integer.", *r.MaxTraces)
		}
		v := int(*r.MaxTraces)
		d.MaxTraces = &v
	}
	switch {
	case d.MaxTimestampMs == nil && len(d.TraceIDs) == 0:
		return d, InvalidParameterf("Either `max_timestamp_millis` or `request_ids` must be specified.")
	case d.MaxTimestampMs != nil && len(d.TraceIDs) > 0:
		return d, InvalidParameterf("Only one of `max_timestamp_millis` and `request_ids` can be specified.")
	case len(d.TraceIDs) > 0 && d.MaxTraces != nil:
		return d, InvalidParameterf("`max_traces` can't be specified if `request_ids` is specified.")
	case len(d.TraceIDs) > MaxTraceIDsPerRequest:
		return d, InvalidParameterf("At most %d request_ids may be deleted in one request, got %d", MaxTraceIDsPerRequest, len(d.TraceIDs))
	}
	return d, nil
}

// fullTrace is a trace with its spans, or nil when its spans are not all
// there yet and allowPartial is false (no spans, or fewer than the
// trace's size stats count).
func (a *api) fullTrace(ctx context.Context, id string, allowPartial bool) (*traceWire, error) {
	info, err := a.store.GetTraceInfo(ctx, id)
	if err != nil {
		return nil, err
	}
	contents, err := a.spanContents(ctx, info)
	if err != nil {
		return nil, err
	}
	if !allowPartial && (len(contents) == 0 || len(contents) < expectedSpans(info)) {
		return nil, nil
	}
	t := &traceWire{TraceInfo: info.v3()}
	for _, c := range contents {
		sp, err := SpanProtoJSON(c)
		if err != nil {
			return nil, err
		}
		t.Spans = append(t.Spans, sp)
	}
	return t, nil
}

// expectedSpans is the span count the client recorded in the trace's
// size stats metadata (0 when absent).
func expectedSpans(info *TraceInfo) int {
	var st struct {
		NumSpans int `json:"num_spans"`
	}
	json.Unmarshal([]byte(info.Metadata[TraceMetaSizeStats]), &st)
	return st.NumSpans
}

// spanContents returns a trace's spans in MLflow's dictionary form: from
// the spans table, or for a trace whose spans the client uploaded
// (spansLocation not TRACKING_STORE, as v2 clients do) from traces.json
// in its artifact location.
func (a *api) spanContents(ctx context.Context, info *TraceInfo) ([][]byte, error) {
	if info.Tags[TraceTagSpansLocation] == SpansInTrackingStore {
		m, err := a.store.TraceSpans(ctx, []string{info.TraceID})
		if err != nil {
			return nil, err
		}
		if err := a.restoreSpans(ctx, info, m[info.TraceID]); err != nil {
			return nil, err
		}
		out := make([][]byte, 0, len(m[info.TraceID]))
		for _, sp := range m[info.TraceID] {
			out = append(out, sp.Content)
		}
		return out, nil
	}
	data, err := a.readTraceArtifact(ctx, info)
	if err != nil || data == nil {
		return nil, err
	}
	var td struct {
		Spans []json.RawMessage `json:"spans"`
	}
	if err := json.Unmarshal(data, &td); err != nil {
		return nil, codeErr(http.StatusBadRequest, CodeBadRequest, ErrInvalid, "Trace with ID %s cannot be loaded because its span data is corrupted.", info.TraceID)
	}
	out := make([][]byte, 0, len(td.Spans))
	for _, sp := range td.Spans {
		out = append(out, sp)
	}
	return out, nil
}

// maxTraceArtifactBytes bounds a traces.json read into memory.
const maxTraceArtifactBytes = 64 << 20

// readTraceArtifact reads traces.json of a trace; nil when it has none.
func (a *api) readTraceArtifact(ctx context.Context, info *TraceInfo) ([]byte, error) {
	loc := info.Tags[TraceTagArtifactLocation]
	if loc == "" {
		return nil, nil
	}
	repo, base, err := a.artifactRepo(loc, "read")
	if err != nil {
		return nil, err
	}
	full := "traces.json"
	if base != "" {
		full = base + "/" + full
	}
	rc, size, err := repo.Open(ctx, full)
	if err != nil {
		if errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), "not exist") || strings.Contains(err.Error(), "not found") {
			return nil, nil
		}
		return nil, repoError("traces.json", err)
	}
	defer rc.Close()
	if size > maxTraceArtifactBytes {
		return nil, InvalidParameterf("traces.json of trace %s is %d bytes, over the limit of %d", info.TraceID, size, maxTraceArtifactBytes)
	}
	return io.ReadAll(io.LimitReader(rc, maxTraceArtifactBytes))
}

// traceArtifact serves get-trace-artifact: the trace's spans as
// traces.json ({"spans": [...]}, MLflow's TraceData.to_dict).
func (a *api) traceArtifact(rule Rule, w http.ResponseWriter, r *http.Request) {
	var req traceArtifactReq
	if err := DecodeRequest(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	rs, err := req.resources()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.authorize(r.Context(), rule, rs); err != nil {
		a.fail(w, r, err)
		return
	}
	info, err := a.store.GetTraceInfo(r.Context(), req.RequestID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	contents, err := a.spanContents(r.Context(), info)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var b bytes.Buffer
	b.WriteString(`{"spans": [`)
	for i, c := range contents {
		if i > 0 {
			b.WriteString(", ")
		}
		b.Write(c)
	}
	b.WriteString("]}")
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.Header().Set("Content-Disposition", "attachment; filename=traces.json")
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

// correlation is calculate-filter-correlation: how two filters co-occur
// over the experiments' traces (or those matching base_filter), as
// MLflow's NPMI.
func (a *api) correlation(ctx context.Context, r *correlationReq) (any, error) {
	if r.Filter1 == nil {
		return nil, InvalidParameterf("Missing value for required parameter 'filter_string1'.")
	}
	if r.Filter2 == nil {
		return nil, InvalidParameterf("Missing value for required parameter 'filter_string2'.")
	}
	base, err := ParseTraceFilter(r.BaseFilter)
	if err != nil {
		return nil, err
	}
	f1, err := ParseTraceFilter(*r.Filter1)
	if err != nil {
		return nil, err
	}
	f2, err := ParseTraceFilter(*r.Filter2)
	if err != nil {
		return nil, err
	}
	// MLflow's counts apply attribute, tag, metadata and span clauses;
	// its run_id handling is for searches only.
	join := func(parts ...[]TraceClause) []TraceClause {
		var out []TraceClause
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	var counts [4]int
	for i, f := range [][]TraceClause{base, join(base, f1), join(base, f2), join(base, f1, f2)} {
		if counts[i], err = a.store.CountTraces(ctx, r.ExperimentIDs, f); err != nil {
			return nil, err
		}
	}
	npmi, smoothed := NPMI(counts[3], counts[1], counts[2], counts[0])
	return struct {
		NPMI         Float `json:"npmi"`
		NPMISmoothed Float `json:"npmi_smoothed"`
		Filter1      int   `json:"filter1_count"`
		Filter2      int   `json:"filter2_count"`
		Joint        int   `json:"joint_count"`
		Total        int   `json:"total_count"`
	}{Float(npmi), Float(smoothed), counts[1], counts[2], counts[3], counts[0]}, nil
}

// NPMI is the normalized pointwise mutual information of two filters
// from their counts, unsmoothed and with Jeffreys-prior smoothing (0.5 in
// every cell), following MLflow's calculate_npmi_from_counts: NaN when
// either filter matches nothing, -1 when they never co-occur.
func NPMI(joint, n1, n2, total int) (npmi, smoothed float64) {
	nan := math.NaN()
	if total <= 0 || n1 == 0 || n2 == 0 {
		return nan, nan
	}
	n11, n10, n01 := float64(joint), float64(n1-joint), float64(n2-joint)
	n00 := float64(total - n1 - n2 + joint)
	if min(n11, n10, n01, n00) < 0 {
		return nan, nan
	}
	if joint == 0 {
		npmi = -1
	} else {
		npmi = npmiCore(n11, n10, n01, n00, 0)
	}
	return npmi, npmiCore(n11, n10, n01, n00, 0.5)
}

func npmiCore(n11, n10, n01, n00, smoothing float64) float64 {
	a, b, c, d := n11+smoothing, n10+smoothing, n01+smoothing, n00+smoothing
	n := a + b + c + d
	m1, m2 := a+b, a+c
	if m1 <= 0 || m2 <= 0 || a <= 0 {
		return math.NaN()
	}
	if n10 == 0 && n01 == 0 && n00 == 0 {
		return 1
	}
	pmi := (math.Log(a) + math.Log(n)) - (math.Log(m1) + math.Log(m2))
	v := pmi / -(math.Log(a) - math.Log(n))
	return max(-1, min(1, v))
}

// otlpExport serves POST /v1/traces: an OTLP/HTTP ExportTraceServiceRequest
// (protobuf or JSON, at most MaxOTLPBytes and MaxSpansPerRequest spans)
// whose spans go to the experiment named by x-mlflow-experiment-id.
func (a *api) otlpExport(rule Rule, w http.ResponseWriter, r *http.Request) {
	exp := r.Header.Get(ExperimentIDHeader)
	if exp == "" {
		a.fail(w, r, InvalidParameterf("Missing required header %s naming the experiment to log spans to.", ExperimentIDHeader))
		return
	}
	if err := a.authorize(r.Context(), rule, []Resource{{KindExperiment, exp}}); err != nil {
		a.fail(w, r, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxOTLPBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			a.fail(w, r, httpx.Errorf(http.StatusRequestEntityTooLarge, CodeInvalidParameterValue, "OTLP request body exceeds the limit of %d bytes", MaxOTLPBytes))
			return
		}
		a.fail(w, r, InvalidParameterf("Could not read request body: %v", err))
		return
	}
	ct := r.Header.Get("Content-Type")
	td, err := DecodeOTLP(ct, body)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	groups, err := SpansFromOTLP(td)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(groups) == 0 {
		a.fail(w, r, InvalidParameterf("Invalid OpenTelemetry request: no spans found"))
		return
	}
	for _, g := range groups {
		if err := a.offloadSpans(r.Context(), exp, g.TraceID, g.Spans); err != nil {
			a.fail(w, r, err)
			return
		}
		if err := a.store.LogSpans(r.Context(), exp, g.TraceID, g.Spans); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if strings.HasPrefix(ct, "application/json") {
		httpx.WriteJSON(w, http.StatusOK, struct{}{})
		return
	}
	// An empty ExportTraceServiceResponse (zero bytes): full success.
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}
