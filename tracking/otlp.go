package tracking

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"strconv"
	"strings"
	"unicode/utf8"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// OTLP/HTTP span ingestion (POST /v1/traces) and the two span forms MLflow
// uses: its span dictionary (stored, and served as traces.json) and the
// OpenTelemetry proto Span (served by the v3 trace API).
//
// An ExportTraceServiceRequest has the same fields as OTLP's TracesData
// (field 1, resource_spans), so requests decode into tracepb.TracesData
// without the gRPC collector package.

// DecodeOTLP reads an OTLP/HTTP export body: binary protobuf
// (application/x-protobuf) or OTLP JSON (application/json, with hex trace
// and span ids as the OTLP spec writes them).
func DecodeOTLP(contentType string, body []byte) (*tracepb.TracesData, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	td := &tracepb.TracesData{}
	switch mt {
	case "application/x-protobuf", "application/protobuf":
		if err := proto.Unmarshal(body, td); err != nil {
			return nil, InvalidParameterf("Invalid OpenTelemetry protobuf format: %v", err)
		}
	case "application/json":
		fixed, err := otlpJSONIDs(body)
		if err != nil {
			return nil, err
		}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(fixed, td); err != nil {
			return nil, InvalidParameterf("Invalid OTLP JSON: %v", err)
		}
	default:
		return nil, InvalidParameterf("Invalid Content-Type: %q. Expected: application/x-protobuf or application/json", contentType)
	}
	return td, nil
}

// otlpJSONIDs rewrites the hex ids of OTLP JSON (traceId, spanId,
// parentSpanId, in spans and links) to the base64 protojson reads bytes
// as. Both lowerCamelCase and snake_case field names are accepted.
func otlpJSONIDs(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, InvalidParameterf("Invalid OTLP JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, InvalidParameterf("Invalid OTLP JSON: data after the top-level object")
	}
	top, ok := root.(map[string]any)
	if !ok {
		return nil, InvalidParameterf("Invalid OTLP JSON: the body must be an object")
	}
	for _, rs := range listField(top, "resourceSpans", "resource_spans") {
		for _, ss := range listField(rs, "scopeSpans", "scope_spans") {
			for _, sp := range listField(ss, "spans") {
				if err := hexIDs(sp); err != nil {
					return nil, err
				}
				for _, l := range listField(sp, "links") {
					if err := hexIDs(l); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return json.Marshal(top)
}

func listField(v any, names ...string) []map[string]any {
	m, _ := v.(map[string]any)
	var out []map[string]any
	for _, n := range names {
		l, _ := m[n].([]any)
		for _, e := range l {
			if o, ok := e.(map[string]any); ok {
				out = append(out, o)
			}
		}
	}
	return out
}

func hexIDs(m map[string]any) error {
	for _, k := range []string{"traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id"} {
		v, ok := m[k]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return InvalidParameterf("Invalid OTLP JSON: %s must be a hex string", k)
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return InvalidParameterf("Invalid OTLP JSON: %s %q is not hex", k, s)
		}
		m[k] = base64.StdEncoding.EncodeToString(b)
	}
	return nil
}

// TraceSpans are the spans of one trace from an OTLP request.
type TraceSpans struct {
	TraceID string
	Spans   []Span
}

// SpansFromOTLP converts an export request's spans to stored spans,
// grouped by MLflow trace id in order of first appearance, as MLflow's
// Span.from_otel_proto and Span.to_dict do. At most MaxSpansPerRequest.
func SpansFromOTLP(td *tracepb.TracesData) ([]TraceSpans, error) {
	var out []TraceSpans
	index := map[string]int{}
	n := 0
	for _, rs := range td.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, ps := range ss.GetSpans() {
				if n++; n > MaxSpansPerRequest {
					return nil, InvalidParameterf("The request has more than %d spans; send them in smaller batches", MaxSpansPerRequest)
				}
				sp, err := spanFromProto(ps)
				if err != nil {
					return nil, err
				}
				i, ok := index[sp.TraceID]
				if !ok {
					i = len(out)
					index[sp.TraceID] = i
					out = append(out, TraceSpans{TraceID: sp.TraceID})
				}
				out[i].Spans = append(out[i].Spans, sp)
			}
		}
	}
	return out, nil
}

// pyKV and pyDict keep a JSON object's keys in order, as Python's dict
// does, so values are written back exactly as MLflow writes them.
type pyKV struct {
	Key   string
	Value any
}
type pyDict []pyKV

func anyValue(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		out := make([]any, 0, len(x.ArrayValue.GetValues()))
		for _, e := range x.ArrayValue.GetValues() {
			out = append(out, anyValue(e))
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		out := make(pyDict, 0, len(x.KvlistValue.GetValues()))
		for _, kv := range x.KvlistValue.GetValues() {
			out = out.set(kv.GetKey(), anyValue(kv.GetValue()))
		}
		return out
	}
	return nil
}

// set puts key in d, keeping the position of an existing key as a Python
// dict does.
func (d pyDict) set(key string, v any) pyDict {
	for i := range d {
		if d[i].Key == key {
			d[i].Value = v
			return d
		}
	}
	return append(d, pyKV{key, v})
}

func (d pyDict) get(key string) (any, bool) {
	for _, kv := range d {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

var statusNames = map[tracepb.Status_StatusCode]string{
	tracepb.Status_STATUS_CODE_UNSET: "UNSET", tracepb.Status_STATUS_CODE_OK: "OK", tracepb.Status_STATUS_CODE_ERROR: "ERROR",
}

func spanFromProto(ps *tracepb.Span) (Span, error) {
	if len(ps.TraceId) != 16 {
		return Span{}, InvalidParameterf("Invalid span %q: trace_id must be 16 bytes, got %d", ps.Name, len(ps.TraceId))
	}
	if len(ps.SpanId) != 8 {
		return Span{}, InvalidParameterf("Invalid span %q: span_id must be 8 bytes, got %d", ps.Name, len(ps.SpanId))
	}
	if len(ps.ParentSpanId) != 0 && len(ps.ParentSpanId) != 8 {
		return Span{}, InvalidParameterf("Invalid span %q: parent_span_id must be 8 bytes, got %d", ps.Name, len(ps.ParentSpanId))
	}
	traceID := "tr-" + hex.EncodeToString(ps.TraceId)
	// Attributes: the MLflow trace id first, then each attribute, every
	// value as its JSON text (dump_span_attribute_value).
	attrs := pyDict{{SpanAttrRequestID, traceID}}
	for _, kv := range ps.Attributes {
		attrs = attrs.set(kv.GetKey(), anyValue(kv.GetValue()))
	}
	if v, _ := attrs.get(SpanAttrRequestID); v != nil {
		if s, ok := v.(string); ok && s != "" {
			traceID = s
		}
	}
	if err := ValidateTraceID(traceID); err != nil {
		return Span{}, err
	}
	sp := Span{TraceID: traceID, SpanID: hex.EncodeToString(ps.SpanId), Name: ps.Name,
		StartNs: int64(ps.StartTimeUnixNano), EndNs: int64(ps.EndTimeUnixNano)}
	if len(ps.ParentSpanId) == 8 {
		sp.ParentID = hex.EncodeToString(ps.ParentSpanId)
	}
	if t, ok := attrs.get("mlflow.spanType"); ok {
		sp.Type, _ = t.(string)
	}
	code := ps.GetStatus().GetCode()
	sp.Status = statusNames[code]
	if sp.Status == "" {
		sp.Status, code = "UNSET", tracepb.Status_STATUS_CODE_UNSET
	}
	// OpenTelemetry keeps a status message only for errors.
	msg := ""
	if code == tracepb.Status_STATUS_CODE_ERROR {
		msg = ps.GetStatus().GetMessage()
	}
	var b strings.Builder
	b.WriteString(`{"trace_id": `)
	writePyString(&b, base64.StdEncoding.EncodeToString(ps.TraceId), true)
	b.WriteString(`, "span_id": `)
	writePyString(&b, base64.StdEncoding.EncodeToString(ps.SpanId), true)
	b.WriteString(`, "parent_span_id": `)
	if sp.ParentID != "" {
		writePyString(&b, base64.StdEncoding.EncodeToString(ps.ParentSpanId), true)
	} else {
		b.WriteString("null")
	}
	b.WriteString(`, "name": `)
	writePyString(&b, ps.Name, true)
	fmt.Fprintf(&b, `, "start_time_unix_nano": %d, "end_time_unix_nano": %d, "events": [`, ps.StartTimeUnixNano, ps.EndTimeUnixNano)
	for i, ev := range ps.Events {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`{"name": `)
		writePyString(&b, ev.Name, true)
		fmt.Fprintf(&b, `, "time_unix_nano": %d, "attributes": `, ev.TimeUnixNano)
		evAttrs := make(pyDict, 0, len(ev.Attributes))
		for _, kv := range ev.Attributes {
			evAttrs = evAttrs.set(kv.GetKey(), anyValue(kv.GetValue()))
		}
		writePy(&b, evAttrs, true)
		b.WriteByte('}')
	}
	b.WriteString(`], "status": {"code": `)
	writePyString(&b, "STATUS_CODE_"+sp.Status, true)
	b.WriteString(`, "message": `)
	writePyString(&b, msg, true)
	b.WriteString(`}, "attributes": {`)
	for i, kv := range attrs {
		if i > 0 {
			b.WriteString(", ")
		}
		writePyString(&b, kv.Key, true)
		b.WriteString(": ")
		var v strings.Builder
		writePy(&v, kv.Value, false)
		writePyString(&b, v.String(), true)
	}
	b.WriteString("}}")
	if b.Len() > MaxSpanBytes {
		return Span{}, InvalidParameterf("Span %q of trace %s is %d bytes, over the limit of %d bytes", ps.Name, traceID, b.Len(), MaxSpanBytes)
	}
	sp.Content = []byte(b.String())
	return sp, nil
}

// writePyJSON writes v as Python's json.dumps(v, ensure_ascii=False) does.
func writePyJSON(b *strings.Builder, v any) { writePy(b, v, false) }

// writePy writes v (nil, bool, string, int64, float64, json.Number,
// []any, pyDict) as Python's json.dumps with its default separators.
func writePy(b *strings.Builder, v any, ascii bool) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		writePyString(b, x, ascii)
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(pyFloat(x))
	case json.Number:
		s := string(x)
		if strings.ContainsAny(s, ".eE") {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				s = pyFloat(f)
			}
		}
		b.WriteString(s)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writePy(b, e, ascii)
		}
		b.WriteByte(']')
	case pyDict:
		b.WriteByte('{')
		for i, kv := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writePyString(b, kv.Key, ascii)
			b.WriteString(": ")
			writePy(b, kv.Value, ascii)
		}
		b.WriteByte('}')
	default:
		writePyString(b, fmt.Sprint(x), ascii)
	}
}

// pyFloat formats f as Python's repr(float) (and json.dumps) does.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	sign := ""
	if e[0] == '-' {
		sign, e = "-", e[1:]
	}
	mant, expS, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expS)
	digits := strings.Replace(mant, ".", "", 1)
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := strconv.Itoa(abs(exp))
		if len(es) < 2 {
			es = "0" + es
		}
		if exp < 0 {
			return sign + m + "e-" + es
		}
		return sign + m + "e+" + es
	}
	if exp < 0 {
		return sign + "0." + strings.Repeat("0", -exp-1) + digits
	}
	if len(digits) <= exp+1 {
		return sign + digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	}
	return sign + digits[:exp+1] + "." + digits[exp+1:]
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// writePyString writes s as a JSON string the way Python's json module
// escapes it; with ascii, every non-ASCII character as \uXXXX.
func writePyString(b *strings.Builder, s string, ascii bool) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (ascii && r == 0x7f):
				fmt.Fprintf(b, `\u%04x`, r)
			case ascii && r > 0x7f:
				if r > 0xffff {
					r -= 0x10000
					fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
				} else {
					fmt.Fprintf(b, `\u%04x`, r)
				}
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// decodeOrdered decodes one JSON value keeping object key order (pyDict)
// and numbers as json.Number.
func decodeOrdered(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := orderedValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

// maxJSONDepth bounds nesting of decoded values; it is above the 10,000
// levels protobuf's decoders allow, so whatever was ingested reads back.
const maxJSONDepth = 20_000

func orderedValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch d := t.(type) {
	case json.Delim:
		switch d {
		case '[':
			out := []any{}
			for dec.More() {
				v, err := orderedValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			_, err := dec.Token()
			return out, err
		case '{':
			out := pyDict{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := orderedValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				out = out.set(k, v)
			}
			_, err := dec.Token()
			return out, err
		}
		return nil, fmt.Errorf("unexpected %v", d)
	}
	return t, nil
}

// The OpenTelemetry proto Span in the JSON MLflow's server writes
// (snake_case names, 64-bit integers as numbers, bytes as base64).
type (
	otelSpanJSON struct {
		TraceID      string          `json:"trace_id,omitempty"`
		SpanID       string          `json:"span_id,omitempty"`
		ParentSpanID string          `json:"parent_span_id,omitempty"`
		Name         string          `json:"name,omitempty"`
		StartNs      int64           `json:"start_time_unix_nano,omitempty"`
		EndNs        int64           `json:"end_time_unix_nano,omitempty"`
		Attributes   []otelKV        `json:"attributes,omitempty"`
		Events       []otelEventJSON `json:"events,omitempty"`
		Status       otelStatusJSON  `json:"status"`
	}
	otelKV struct {
		Key   string         `json:"key"`
		Value map[string]any `json:"value"`
	}
	otelEventJSON struct {
		Name       string   `json:"name,omitempty"`
		TimeNs     int64    `json:"time_unix_nano,omitempty"`
		Attributes []otelKV `json:"attributes,omitempty"`
	}
	otelStatusJSON struct {
		Code    string `json:"code,omitempty"`
		Message string `json:"message,omitempty"`
	}
	// storedSpan is the part of MLflow's span dictionary read back.
	storedSpan struct {
		TraceID      string          `json:"trace_id"`
		SpanID       string          `json:"span_id"`
		ParentSpanID *string         `json:"parent_span_id"`
		Name         string          `json:"name"`
		StartNs      int64           `json:"start_time_unix_nano"`
		EndNs        *int64          `json:"end_time_unix_nano"`
		Events       json.RawMessage `json:"events"`
		Status       struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"status"`
		Attributes json.RawMessage `json:"attributes"`
	}
)

// anyValueJSON is an AnyValue for a Python value.
func anyValueJSON(v any) map[string]any {
	switch x := v.(type) {
	case nil:
		return map[string]any{}
	case bool:
		return map[string]any{"bool_value": x}
	case string:
		return map[string]any{"string_value": x}
	case int64:
		return map[string]any{"int_value": x}
	case float64:
		return map[string]any{"double_value": Float(x)}
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return map[string]any{"int_value": n}
			}
		}
		f, _ := strconv.ParseFloat(s, 64)
		return map[string]any{"double_value": Float(f)}
	case []any:
		vals := make([]map[string]any, 0, len(x))
		for _, e := range x {
			vals = append(vals, anyValueJSON(e))
		}
		return map[string]any{"array_value": map[string]any{"values": vals}}
	case pyDict:
		vals := make([]otelKV, 0, len(x))
		for _, kv := range x {
			vals = append(vals, otelKV{kv.Key, anyValueJSON(kv.Value)})
		}
		return map[string]any{"kvlist_value": map[string]any{"values": vals}}
	}
	return map[string]any{"string_value": fmt.Sprint(v)}
}

// loadAttr reads a stored attribute (a JSON text) as the span's
// attribute registry does: the decoded value, or the text itself when it
// is not JSON; an empty text is no value.
func loadAttr(s string) any {
	if s == "" {
		return nil
	}
	v, err := decodeOrdered([]byte(s))
	if err != nil {
		return s
	}
	return v
}

// SpanProtoJSON turns a stored span (MLflow's span dictionary) into the
// OpenTelemetry proto Span JSON of the v3 trace API (Span.to_otel_proto).
func SpanProtoJSON(content []byte) (any, error) {
	var s storedSpan
	if err := json.Unmarshal(content, &s); err != nil {
		return nil, fmt.Errorf("tracking: stored span: %w", err)
	}
	out := otelSpanJSON{TraceID: s.TraceID, SpanID: s.SpanID, Name: s.Name, StartNs: s.StartNs}
	if s.ParentSpanID != nil {
		out.ParentSpanID = *s.ParentSpanID
	}
	if s.EndNs != nil {
		out.EndNs = *s.EndNs
	}
	if s.Status.Code != "" && s.Status.Code != "STATUS_CODE_UNSET" {
		out.Status.Code = s.Status.Code
	}
	out.Status.Message = s.Status.Message
	attrs, err := decodeOrdered(s.Attributes)
	if err != nil {
		return nil, fmt.Errorf("tracking: stored span attributes: %w", err)
	}
	if d, ok := attrs.(pyDict); ok {
		for _, kv := range d {
			str, _ := kv.Value.(string)
			out.Attributes = append(out.Attributes, otelKV{kv.Key, anyValueJSON(loadAttr(str))})
		}
	}
	if len(s.Events) > 0 {
		evs, err := decodeOrdered(s.Events)
		if err != nil {
			return nil, fmt.Errorf("tracking: stored span events: %w", err)
		}
		list, _ := evs.([]any)
		for _, e := range list {
			d, _ := e.(pyDict)
			var ev otelEventJSON
			if n, ok := d.get("name"); ok {
				ev.Name, _ = n.(string)
			}
			if t, ok := d.get("time_unix_nano"); ok {
				if num, ok := t.(json.Number); ok {
					ev.TimeNs, _ = num.Int64()
				}
			}
			if a, ok := d.get("attributes"); ok {
				ad, _ := a.(pyDict)
				for _, kv := range ad {
					ev.Attributes = append(ev.Attributes, otelKV{kv.Key, anyValueJSON(kv.Value)})
				}
			}
			out.Events = append(out.Events, ev)
		}
	}
	return out, nil
}

// previewOf cuts an attribute's JSON text to a preview.
func previewOf(s string) string {
	if utf8.RuneCountInString(s) <= MaxPreviewRunes {
		return s
	}
	r := []rune(s)
	return string(r[:MaxPreviewRunes-3]) + "..."
}

// RootSpanPreviews returns the request and response previews of a root
// span (its mlflow.spanInputs and mlflow.spanOutputs attributes).
func RootSpanPreviews(content []byte) (req, resp string) {
	var s struct {
		Attributes map[string]string `json:"attributes"`
	}
	if json.Unmarshal(content, &s) != nil {
		return "", ""
	}
	return previewOf(s.Attributes["mlflow.spanInputs"]), previewOf(s.Attributes["mlflow.spanOutputs"])
}
