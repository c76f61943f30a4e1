package tracking

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MLflow 3 tracing: a trace is a tree of spans under one trace id, owned
// by an experiment. Its info (times, state, tags, request metadata,
// assessments) lives in trace tables; its spans in a spans table, each
// kept as MLflow's span dictionary (Span.to_dict: base64 ids, attribute
// values as JSON strings), which is also what traces.json holds and what
// trace.text searches.

// Trace states, as TraceInfoV3.State names them (TraceStatus of the v2 API
// uses the same names).
const (
	TraceOK          = "OK"
	TraceError       = "ERROR"
	TraceInProgress  = "IN_PROGRESS"
	TraceUnspecified = "STATE_UNSPECIFIED"
)

// Tag and metadata keys MLflow gives meaning to.
const (
	TraceTagArtifactLocation = "mlflow.artifactLocation"
	TraceTagSpansLocation    = "mlflow.trace.spansLocation"
	TraceTagName             = "mlflow.traceName"
	TraceMetaSourceRun       = "mlflow.sourceRun"
	TraceMetaSizeStats       = "mlflow.trace.sizeStats"
	// SpansInTrackingStore is the spansLocation value saying the spans are
	// in the spans table, so the client uploads no traces.json.
	SpansInTrackingStore = "TRACKING_STORE"
	// SpanAttrRequestID is the span attribute naming the MLflow trace id.
	SpanAttrRequestID = "mlflow.traceRequestId"
)

// Limits of the trace API. MLflow caps search pages at 500; the others
// bound a request's work and are documented in docs/tracing.md.
const (
	DefaultTraceResults = 100
	MaxTraceResults     = 500
	// MaxTraceIDsPerRequest bounds batchGet, link-to-run and delete by ids
	// (MLflow's link-to-run takes at most 100).
	MaxTraceIDsPerRequest = 100
	// MaxSpansPerRequest bounds the spans of one /v1/traces request.
	MaxSpansPerRequest = 50_000
	// MaxOTLPBytes bounds one /v1/traces body.
	MaxOTLPBytes = 32 << 20
	// MaxSpanBytes bounds one span's stored JSON.
	MaxSpanBytes = 4 << 20
	// MaxTraceSpans bounds the spans returned for one trace.
	MaxTraceSpans = 100_000
	// MaxPreviewRunes is the length previews are cut to (MLflow's OSS
	// server cuts them to 1000 characters).
	MaxPreviewRunes = 1000
)

// TraceInfo is a trace's record (MLflow's TraceInfoV3). Times are in
// milliseconds; ExecutionMs is nil while unknown.
type TraceInfo struct {
	TraceID         string
	ExperimentID    string
	ClientRequestID string
	RequestPreview  string
	ResponsePreview string
	RequestTimeMs   int64
	ExecutionMs     *int64
	State           string
	Metadata        map[string]string
	Tags            map[string]string
	Assessments     []Assessment
}

// Span is one stored span: its ids (hex, as MLflow's span_id property
// writes them), the columns searches use, and Content, the span in
// MLflow's dictionary form.
type Span struct {
	TraceID  string
	SpanID   string
	ParentID string
	Name     string
	Type     string
	Status   string // OK, ERROR or UNSET
	StartNs  int64
	EndNs    int64 // 0 while the span has not ended
	Content  []byte
}

// TraceQuery is a parsed trace search.
type TraceQuery struct {
	ExperimentIDs []string
	Filter        []TraceClause
	OrderBy       []TraceOrder
	MaxResults    int
	PageToken     string
}

// TraceDeletion says which traces of one experiment delete-traces removes:
// those at or before MaxTimestampMs (when set), the oldest MaxTraces of
// them (when set), only TraceIDs (when given).
type TraceDeletion struct {
	ExperimentID   string
	MaxTimestampMs *int64
	MaxTraces      *int
	TraceIDs       []string
}

// AssessmentUpdate is an update_mask's changes; nil fields are kept.
type AssessmentUpdate struct {
	Name        *string
	Feedback    *AssessmentValue
	Expectation *AssessmentValue
	Rationale   *string
	Metadata    map[string]string // merged into the existing metadata
	Valid       *bool
}

// Traces is the tracing part of a Store.
type Traces interface {
	// StartTrace records a trace's info (StartTraceV3, which the client
	// sends when a trace ends, and the v2 start). A trace whose spans
	// arrived first keeps them and takes the new info; its tags and
	// metadata are merged. The store adds the mlflow.artifactLocation
	// tag. A trace of another experiment is refused.
	StartTrace(ctx context.Context, t TraceInfo) (*TraceInfo, error)
	// EndTraceV2 completes a v2 trace: execution time from endMs, the
	// state, and merged metadata and tags.
	EndTraceV2(ctx context.Context, id string, endMs int64, state string, metadata, tags map[string]string) (*TraceInfo, error)
	GetTraceInfo(ctx context.Context, id string) (*TraceInfo, error)
	SearchTraces(ctx context.Context, q TraceQuery) ([]TraceInfo, string, error)
	// CountTraces counts the traces of the experiments matching filter.
	CountTraces(ctx context.Context, experimentIDs []string, filter []TraceClause) (int, error)
	DeleteTraces(ctx context.Context, d TraceDeletion) (int, error)
	SetTraceTag(ctx context.Context, id, key, value string) error
	DeleteTraceTag(ctx context.Context, id, key string) error
	// LinkTracesToRun records that the traces belong to the run, which
	// attribute.run_id searches then find.
	LinkTracesToRun(ctx context.Context, ids []string, runID string) error
	// LogSpans stores spans of one trace in the experiment, creating the
	// trace when it is new and widening its time range, and taking its
	// state and previews from the root span.
	LogSpans(ctx context.Context, experimentID, traceID string, spans []Span) error
	// TraceSpans returns the spans of each trace, root first then by
	// start time; a trace without spans is absent from the map.
	TraceSpans(ctx context.Context, ids []string) (map[string][]Span, error)

	CreateAssessment(ctx context.Context, a Assessment) (*Assessment, error)
	GetAssessment(ctx context.Context, traceID, id string) (*Assessment, error)
	UpdateAssessment(ctx context.Context, traceID, id string, u AssessmentUpdate) (*Assessment, error)
	// DeleteAssessment removes an assessment (a missing one is no error)
	// and makes the one it overrode valid again.
	DeleteAssessment(ctx context.Context, traceID, id string) error
}

// TraceArtifactLocation is where a trace's artifacts (traces.json of a
// trace whose spans are not in the store) live: under the experiment's
// artifact location, as MLflow lays it out.
func TraceArtifactLocation(experimentLocation, traceID string) string {
	return strings.TrimRight(experimentLocation, "/") + "/traces/" + traceID + "/artifacts"
}

// ValidTraceState reports whether s is a TraceInfoV3 state name.
func ValidTraceState(s string) bool {
	switch s {
	case TraceOK, TraceError, TraceInProgress, TraceUnspecified:
		return true
	}
	return false
}

// traceState maps a state or v2 status, by name or number, to its name.
func traceState(e Enum) (string, error) {
	switch s := string(e); s {
	case "", "0", "TRACE_STATUS_UNSPECIFIED", TraceUnspecified:
		return TraceUnspecified, nil
	case "1", TraceOK:
		return TraceOK, nil
	case "2", TraceError:
		return TraceError, nil
	case "3", TraceInProgress:
		return TraceInProgress, nil
	default:
		return "", InvalidParameterf("Invalid trace state '%s'; expected OK, ERROR, IN_PROGRESS or STATE_UNSPECIFIED", s)
	}
}

// ValidateTraceID checks a trace id from a path or a request: MLflow's are
// "tr-" plus 32 hex digits (v3) or 32 hex digits (v2); any short printable
// id without '/' is accepted, as MLflow's store does.
func ValidateTraceID(id string) error {
	if id == "" {
		return InvalidParameterf("Missing value for required parameter 'trace_id'.")
	}
	if len(id) > 64 || strings.ContainsAny(id, "/\\ \t\n\r\x00") {
		return InvalidParameterf("Invalid trace id '%.70s': at most 64 characters, no '/' or whitespace", id)
	}
	return nil
}

// Wire forms. Timestamps are protobuf JSON Timestamps (RFC 3339) and
// durations protobuf Durations ("1.500s"), as MLflow's client writes and
// reads them.

// pbTime writes milliseconds as a protobuf Timestamp string.
func pbTime(ms int64) string {
	t := time.UnixMilli(ms).UTC()
	if ms%1000 == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}

// parsePBTime reads a protobuf Timestamp string into milliseconds.
func parsePBTime(field, s string) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, InvalidParameterf("Invalid value '%.40s' for parameter '%s': expected an RFC 3339 timestamp", s, field)
	}
	return t.UnixMilli(), nil
}

// pbDuration writes milliseconds as a protobuf Duration string.
func pbDuration(ms int64) string {
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	if ms%1000 == 0 {
		return fmt.Sprintf("%s%ds", sign, ms/1000)
	}
	return fmt.Sprintf("%s%d.%03ds", sign, ms/1000, ms%1000)
}

// parsePBDuration reads a protobuf Duration string ("2s", "0.250s") into
// milliseconds, truncating below a millisecond.
func parsePBDuration(field, s string) (int64, error) {
	bad := InvalidParameterf("Invalid value '%.40s' for parameter '%s': expected a duration such as \"1.5s\"", s, field)
	rest, ok := strings.CutSuffix(s, "s")
	if !ok || rest == "" {
		return 0, bad
	}
	neg := strings.HasPrefix(rest, "-")
	rest = strings.TrimPrefix(rest, "-")
	secs, frac, _ := strings.Cut(rest, ".")
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || n > 315_576_000_000 || len(frac) > 9 || strings.Trim(frac, "0123456789") != "" {
		return 0, bad
	}
	ms := n * 1000
	frac = (frac + "000")[:3]
	f, _ := strconv.ParseInt(frac, 10, 64)
	ms += f
	if neg {
		ms = -ms
	}
	return ms, nil
}

type traceLocationWire struct {
	Type             Enum `json:"type,omitempty"`
	MlflowExperiment *struct {
		ExperimentID string `json:"experiment_id"`
	} `json:"mlflow_experiment,omitempty"`
}

// traceInfoV3Wire is TraceInfoV3 in JSON.
type traceInfoV3Wire struct {
	TraceID           string             `json:"trace_id"`
	ClientRequestID   string             `json:"client_request_id,omitempty"`
	TraceLocation     *traceLocationWire `json:"trace_location,omitempty"`
	RequestPreview    string             `json:"request_preview,omitempty"`
	ResponsePreview   string             `json:"response_preview,omitempty"`
	RequestTime       string             `json:"request_time,omitempty"`
	ExecutionDuration string             `json:"execution_duration,omitempty"`
	State             Enum               `json:"state,omitempty"`
	TraceMetadata     map[string]string  `json:"trace_metadata,omitempty"`
	Assessments       []Assessment       `json:"assessments,omitempty"`
	Tags              map[string]string  `json:"tags,omitempty"`
}

func (t *TraceInfo) v3() traceInfoV3Wire {
	w := traceInfoV3Wire{
		TraceID: t.TraceID, ClientRequestID: t.ClientRequestID,
		TraceLocation:  &traceLocationWire{Type: "MLFLOW_EXPERIMENT"},
		RequestPreview: t.RequestPreview, ResponsePreview: t.ResponsePreview,
		RequestTime: pbTime(t.RequestTimeMs), State: Enum(t.State),
		TraceMetadata: t.Metadata, Tags: t.Tags, Assessments: t.Assessments,
	}
	w.TraceLocation.MlflowExperiment = &struct {
		ExperimentID string `json:"experiment_id"`
	}{t.ExperimentID}
	if t.ExecutionMs != nil {
		w.ExecutionDuration = pbDuration(*t.ExecutionMs)
	}
	return w
}

// info reads a TraceInfoV3 from a request.
func (w *traceInfoV3Wire) info() (TraceInfo, error) {
	t := TraceInfo{TraceID: w.TraceID, ClientRequestID: w.ClientRequestID, RequestPreview: w.RequestPreview,
		ResponsePreview: w.ResponsePreview, Metadata: w.TraceMetadata, Tags: w.Tags, Assessments: w.Assessments}
	if err := ValidateTraceID(t.TraceID); err != nil {
		return t, err
	}
	if w.TraceLocation == nil || w.TraceLocation.MlflowExperiment == nil || w.TraceLocation.MlflowExperiment.ExperimentID == "" {
		return t, InvalidParameterf("Missing value for required parameter 'trace.trace_info.trace_location.mlflow_experiment.experiment_id'.")
	}
	t.ExperimentID = w.TraceLocation.MlflowExperiment.ExperimentID
	var err error
	if w.RequestTime != "" {
		if t.RequestTimeMs, err = parsePBTime("trace_info.request_time", w.RequestTime); err != nil {
			return t, err
		}
	}
	if w.ExecutionDuration != "" {
		ms, err := parsePBDuration("trace_info.execution_duration", w.ExecutionDuration)
		if err != nil {
			return t, err
		}
		t.ExecutionMs = &ms
	}
	if t.State, err = traceState(w.State); err != nil {
		return t, err
	}
	return t, validateTraceKV(t.Tags, t.Metadata)
}

// validateTraceKV applies MLflow's trace tag and metadata limits.
func validateTraceKV(tags, metadata map[string]string) error {
	for k, v := range tags {
		if err := ValidateTag(Tag{Key: k, Value: v}); err != nil {
			return err
		}
	}
	for k, v := range metadata {
		if err := validateLength("Trace metadata", k, v, MaxTagValueLength); err != nil {
			return err
		}
	}
	return nil
}

type keyValueWire struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// traceInfoV2Wire is the v2 API's TraceInfo.
type traceInfoV2Wire struct {
	RequestID       string         `json:"request_id"`
	ExperimentID    string         `json:"experiment_id"`
	TimestampMs     int64          `json:"timestamp_ms"`
	ExecutionTimeMs *int64         `json:"execution_time_ms,omitempty"`
	Status          string         `json:"status"`
	RequestMetadata []keyValueWire `json:"request_metadata,omitempty"`
	Tags            []keyValueWire `json:"tags,omitempty"`
}

func sortedKV(m map[string]string) []keyValueWire {
	out := make([]keyValueWire, 0, len(m))
	for k, v := range m {
		out = append(out, keyValueWire{k, v})
	}
	slices.SortFunc(out, func(a, b keyValueWire) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func (t *TraceInfo) v2() traceInfoV2Wire {
	st := t.State
	if st == TraceUnspecified {
		st = "TRACE_STATUS_UNSPECIFIED"
	}
	return traceInfoV2Wire{RequestID: t.TraceID, ExperimentID: t.ExperimentID, TimestampMs: t.RequestTimeMs,
		ExecutionTimeMs: t.ExecutionMs, Status: st, RequestMetadata: sortedKV(t.Metadata), Tags: sortedKV(t.Tags)}
}

func kvMap(list []keyValueWire) map[string]string {
	m := make(map[string]string, len(list))
	for _, e := range list {
		m[e.Key] = e.Value
	}
	return m
}

// TraceKind is what a trace search clause or ordering key refers to.
type TraceKind int

// Trace search entities, as MLflow's SearchTraceUtils names them.
const (
	TraceAttr TraceKind = iota
	TraceTagKey
	TraceMetadataKey
	TraceSpanKey
	TraceFeedbackKey
	TraceExpectationKey
	// TraceRunKey is attribute.run_id: the mlflow.sourceRun metadata or a
	// link made by link-to-run.
	TraceRunKey
)

// TraceClause is one comparison of a trace search filter. For TraceAttr
// Key is a column (timestamp_ms, execution_time_ms, end_time_ms, status,
// request_id, client_request_id); for TraceSpanKey it is name, type,
// status, content or attributes.<name>; for assessments the name.
type TraceClause struct {
	Kind  TraceKind
	Key   string
	Op    string
	Str   string
	Num   float64
	IsNum bool
	List  []string
}

// TraceOrder is one ordering key of a trace search.
type TraceOrder struct {
	Kind TraceKind // TraceAttr, TraceTagKey or TraceMetadataKey
	Key  string
	Desc bool
}

// traceEntity maps a filter prefix to its entity.
func traceEntity(prefix string) (TraceKind, bool) {
	switch prefix {
	case "", "attribute", "attributes", "trace":
		return TraceAttr, true
	case "tag", "tags":
		return TraceTagKey, true
	case "request_metadata", "metadata":
		return TraceMetadataKey, true
	case "span":
		return TraceSpanKey, true
	case "feedback":
		return TraceFeedbackKey, true
	case "expectation":
		return TraceExpectationKey, true
	}
	return 0, false
}

// traceAttr resolves an attribute name (with MLflow's aliases and the keys
// it maps to tags, metadata and spans) to the clause's kind and key.
func traceAttr(key string) (TraceKind, string, bool) {
	switch strings.ToLower(key) {
	case "timestamp", "timestamp_ms":
		return TraceAttr, "timestamp_ms", true
	case "execution_time", "execution_time_ms":
		return TraceAttr, "execution_time_ms", true
	case "end_time", "end_time_ms":
		return TraceAttr, "end_time_ms", true
	case "status":
		return TraceAttr, "status", true
	case "request_id":
		return TraceAttr, "request_id", true
	case "client_request_id":
		return TraceAttr, "client_request_id", true
	case "experiment_id":
		return TraceAttr, "experiment_id", true
	case "name":
		return TraceTagKey, TraceTagName, true
	case "run_id":
		return TraceRunKey, TraceMetaSourceRun, true
	case "text":
		return TraceSpanKey, "content", true
	}
	return 0, "", false
}

func isNumTraceAttr(col string) bool {
	return col == "timestamp_ms" || col == "execution_time_ms" || col == "end_time_ms"
}

// ParseTraceFilter parses a trace search filter the way MLflow's
// SearchTraceUtils does: clauses joined by AND over attributes (also
// trace.*), tags, metadata (request_metadata.*), spans (span.name,
// span.type, span.status, span.attributes.<key>, and trace.text over the
// span content) and assessments (feedback.<name>, expectation.<name>).
// RLIKE is not supported.
func ParseTraceFilter(src string) ([]TraceClause, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	raw, err := parseRaw(src)
	if err != nil {
		return nil, err
	}
	out := make([]TraceClause, 0, len(raw))
	for _, rc := range raw {
		kind, ok := traceEntity(rc.prefix)
		if !ok {
			return nil, InvalidParameterf("Invalid entity type '%s'. Valid values are attribute, tag, request_metadata, span, feedback, expectation (and the aliases attributes, trace, tags, metadata) in filter '%s'", rc.prefix, quoteShort(src))
		}
		key := rc.key
		inOK := false
		if kind == TraceAttr {
			attrKey := key
			if kind, key, ok = traceAttr(key); !ok || key == "experiment_id" {
				return nil, InvalidParameterf("Invalid attribute key '%s' in filter '%s'; supported are request_id, timestamp, timestamp_ms, execution_time, execution_time_ms, end_time, end_time_ms, status, client_request_id, name, run_id, text", attrKey, quoteShort(src))
			}
			switch strings.ToLower(attrKey) {
			case "name", "status", "request_id", "run_id", "client_request_id":
				inOK = true
			}
		}
		c := TraceClause{Kind: kind, Key: key, Op: rc.op, List: rc.list}
		switch {
		case kind == TraceAttr && isNumTraceAttr(key):
			if !numOps(rc.op) {
				return nil, InvalidParameterf("Invalid comparator '%s' for attribute '%s' in filter '%s'; expected one of =, !=, >, >=, <, <=", rc.op, rc.key, quoteShort(src))
			}
			if rc.val.kind != tWord {
				return nil, InvalidParameterf("Expected a numeric value for attribute '%s' in filter '%s', got quoted '%s'", rc.key, quoteShort(src), rc.val.text)
			}
			f, err := strconv.ParseFloat(rc.val.text, 64)
			if err != nil {
				return nil, InvalidParameterf("Expected a numeric value for attribute '%s' in filter '%s', got '%s'", rc.key, quoteShort(src), rc.val.text)
			}
			c.Num, c.IsNum = f, true
		default:
			switch {
			case rc.op == "IN" || rc.op == "NOT IN":
				spanCol := kind == TraceSpanKey && key != "content"
				if !inOK && !spanCol {
					return nil, InvalidParameterf("Invalid comparator '%s' for '%s' in filter '%s'; IN and NOT IN apply to name, status, request_id, run_id, client_request_id and span fields", rc.op, rc.key, quoteShort(src))
				}
			case kind == TraceSpanKey && key == "content":
				if rc.op != "LIKE" && rc.op != "ILIKE" {
					return nil, InvalidParameterf("Invalid comparator '%s' for trace text in filter '%s'; expected LIKE or ILIKE", rc.op, quoteShort(src))
				}
			case !strOps(rc.op):
				return nil, InvalidParameterf("Invalid comparator '%s' for '%s' in filter '%s'; expected one of =, !=, LIKE, ILIKE", rc.op, rc.key, quoteShort(src))
			}
			if c.List == nil {
				if rc.val.kind != tString {
					return nil, InvalidParameterf("Expected a quoted string value for '%s' in filter '%s' (e.g. 'my-value'), got '%s'", rc.key, quoteShort(src), rc.val.text)
				}
				c.Str = rc.val.text
			}
		}
		if kind == TraceSpanKey {
			switch {
			case key == "name" || key == "type" || key == "status" || key == "content":
			case strings.HasPrefix(key, "attributes.") && len(key) > len("attributes."):
			default:
				return nil, InvalidParameterf("Invalid span attribute '%s' in filter '%s'. Supported attributes: name, status, type, attributes.<attribute_name>", key, quoteShort(src))
			}
		}
		if kind == TraceRunKey && rc.op != "=" {
			// MLflow handles only run_id = specially; other comparators
			// compare the sourceRun metadata.
			c.Kind = TraceMetadataKey
		}
		out = append(out, c)
	}
	return out, nil
}

// ParseTraceOrderBy parses trace search order_by entries: attributes
// (timestamp, execution_time, end_time, status, request_id, experiment_id,
// name, run_id), tags.<key> and metadata.<key>, each ASC or DESC.
func ParseTraceOrderBy(list []string) ([]TraceOrder, error) {
	var out []TraceOrder
	seen := map[TraceOrder]bool{}
	for _, s := range list {
		if strings.TrimSpace(s) == "" {
			continue
		}
		toks, err := tokenize(s)
		if err != nil {
			return nil, err
		}
		prefix, key, i, err := parseIdent(s, toks, 0)
		if err != nil {
			return nil, InvalidParameterf("Invalid order_by clause '%s'", quoteShort(s))
		}
		kind, ok := traceEntity(prefix)
		if !ok || (kind != TraceAttr && kind != TraceTagKey && kind != TraceMetadataKey) {
			return nil, InvalidParameterf("Invalid order_by clause '%s': unknown entity '%s'", quoteShort(s), prefix)
		}
		o := TraceOrder{Kind: kind, Key: key}
		if kind == TraceAttr {
			k, col, ok := traceAttr(key)
			if !ok || k == TraceSpanKey || col == "client_request_id" {
				return nil, InvalidParameterf("Invalid order_by clause '%s': unknown attribute '%s'", quoteShort(s), key)
			}
			o.Kind, o.Key = k, col
			if k == TraceRunKey {
				o.Kind = TraceMetadataKey
			}
		}
		if o.Desc, err = orderDirection(s, toks, i); err != nil {
			return nil, err
		}
		k := TraceOrder{Kind: o.Kind, Key: o.Key}
		if seen[k] {
			return nil, InvalidParameterf("`order_by` contains duplicate fields: %v", list)
		}
		seen[k] = true
		out = append(out, o)
	}
	return out, nil
}

// ParseTimestamp reads a protobuf JSON Timestamp (RFC 3339) into
// milliseconds since the epoch.
func ParseTimestamp(s string) (int64, error) { return parsePBTime("timestamp", s) }
