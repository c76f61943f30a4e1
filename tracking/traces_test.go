package tracking

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Python's repr(float), checked against CPython 3 by hand.
func TestPyFloat(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{1, "1.0"}, {0, "0.0"}, {-2.5, "-2.5"}, {0.1, "0.1"}, {1e16, "1e+16"}, {1234567890123456, "1234567890123456.0"},
		{1e-4, "0.0001"}, {1e-5, "1e-05"}, {1.5e-7, "1.5e-07"}, {123.456, "123.456"}, {1e22, "1e+22"}, {2.5e300, "2.5e+300"},
		{math.NaN(), "NaN"}, {math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"}, {100, "100.0"},
	} {
		if got := pyFloat(tc.f); got != tc.want {
			t.Errorf("pyFloat(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
}

// Python's json.dumps: default separators, its escapes, ensure_ascii.
func TestPyJSON(t *testing.T) {
	v := pyDict{{"b", int64(1)}, {"a", []any{"x/y", true, nil, 2.0}}, {"é", "tab\there \"q\" \x01 😀 \x7f"}}
	var b strings.Builder
	writePy(&b, v, false)
	if want := "{\"b\": 1, \"a\": [\"x/y\", true, null, 2.0], \"é\": \"tab\\there \\\"q\\\" \\u0001 😀 \x7f\"}"; b.String() != want {
		t.Errorf("ensure_ascii=False:\n got %s\nwant %s", b.String(), want)
	}
	b.Reset()
	writePy(&b, v, true)
	if want := `{"b": 1, "a": ["x/y", true, null, 2.0], "\u00e9": "tab\there \"q\" \u0001 \ud83d\ude00 \u007f"}`; b.String() != want {
		t.Errorf("ensure_ascii=True:\n got %s\nwant %s", b.String(), want)
	}
}

func TestPBTimes(t *testing.T) {
	for _, tc := range []struct {
		ms   int64
		ts   string
		dur  string
		back int64
	}{
		{1000, "1970-01-01T00:00:01Z", "1s", 1000},
		{1500, "1970-01-01T00:00:01.500Z", "1.500s", 1500},
		{1735689600123, "2025-01-01T00:00:00.123Z", "1735689600.123s", 1735689600123},
		{-250, "1969-12-31T23:59:59.750Z", "-0.250s", -250},
	} {
		if got := pbTime(tc.ms); got != tc.ts {
			t.Errorf("pbTime(%d) = %s, want %s", tc.ms, got, tc.ts)
		}
		if got, err := parsePBTime("t", tc.ts); err != nil || got != tc.back {
			t.Errorf("parsePBTime(%s) = %d, %v", tc.ts, got, err)
		}
		if got := pbDuration(tc.ms); got != tc.dur {
			t.Errorf("pbDuration(%d) = %s, want %s", tc.ms, got, tc.dur)
		}
		if got, err := parsePBDuration("d", tc.dur); err != nil || got != tc.back {
			t.Errorf("parsePBDuration(%s) = %d, %v", tc.dur, got, err)
		}
	}
	if ms, err := parsePBDuration("d", "0.000999999s"); err != nil || ms != 0 {
		t.Errorf("sub-millisecond duration: %d %v", ms, err)
	}
	for _, bad := range []string{"", "s", "1", "1.5", "x s", "1.1234567890s", "1e3s"} {
		if _, err := parsePBDuration("d", bad); err == nil {
			t.Errorf("parsePBDuration(%q) accepted", bad)
		}
	}
}

// NPMI against MLflow's calculate_npmi_from_counts on its test's counts,
// and the formula written out.
func TestNPMI(t *testing.T) {
	for _, tc := range []struct {
		joint, n1, n2, total int
		npmi, smoothed       float64
	}{
		{6, 6, 7, 10, 0.6982322877799215, 0.5404578674731575},
		{3, 4, 3, 10, 0.7610560044063087, 0.6021516451320165},
		{0, 2, 3, 10, -1, -0.21810429198553158},
		{5, 5, 5, 5, 1, 1}, // always together; smoothing is 1 only because n10=n01=n00=0
	} {
		n, s := NPMI(tc.joint, tc.n1, tc.n2, tc.total)
		if math.Abs(n-tc.npmi) > 1e-12 || math.Abs(s-tc.smoothed) > 1e-12 {
			t.Errorf("NPMI%v = %v, %v, want %v, %v", []int{tc.joint, tc.n1, tc.n2, tc.total}, n, s, tc.npmi, tc.smoothed)
		}
	}
	want := math.Log(6.0*10/(6*7)) / -math.Log(6.0/10)
	if n, _ := NPMI(6, 6, 7, 10); math.Abs(n-want) > 1e-12 {
		t.Errorf("NPMI = %v, formula gives %v", n, want)
	}
	for _, c := range [][4]int{{0, 0, 7, 10}, {0, 4, 0, 10}, {0, 1, 1, 0}, {5, 4, 3, 10}} {
		if n, s := NPMI(c[0], c[1], c[2], c[3]); !math.IsNaN(n) || !math.IsNaN(s) {
			t.Errorf("NPMI%v = %v, %v, want NaN", c, n, s)
		}
	}
}

func TestParseTraceFilter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []TraceClause
	}{
		{"status = 'OK'", []TraceClause{{Kind: TraceAttr, Key: "status", Op: "=", Str: "OK"}}},
		{"trace.timestamp > 10", []TraceClause{{Kind: TraceAttr, Key: "timestamp_ms", Op: ">", Num: 10, IsNum: true}}},
		{"attributes.end_time <= 1.5", []TraceClause{{Kind: TraceAttr, Key: "end_time_ms", Op: "<=", Num: 1.5, IsNum: true}}},
		{"tags.`a.b` LIKE 'x%'", []TraceClause{{Kind: TraceTagKey, Key: "a.b", Op: "LIKE", Str: "x%"}}},
		{"metadata.m != 'v'", []TraceClause{{Kind: TraceMetadataKey, Key: "m", Op: "!=", Str: "v"}}},
		{"name = 'n'", []TraceClause{{Kind: TraceTagKey, Key: TraceTagName, Op: "=", Str: "n"}}},
		{"run_id = 'r'", []TraceClause{{Kind: TraceRunKey, Key: TraceMetaSourceRun, Op: "=", Str: "r"}}},
		{"run_id IN ('r', 's')", []TraceClause{{Kind: TraceMetadataKey, Key: TraceMetaSourceRun, Op: "IN", List: []string{"r", "s"}}}},
		{"trace.text ILIKE '%a%'", []TraceClause{{Kind: TraceSpanKey, Key: "content", Op: "ILIKE", Str: "%a%"}}},
		{"span.attributes.k = 'v' AND feedback.q = '1'", []TraceClause{{Kind: TraceSpanKey, Key: "attributes.k", Op: "=", Str: "v"}, {Kind: TraceFeedbackKey, Key: "q", Op: "=", Str: "1"}}},
		{"expectation.e NOT IN ('x')", []TraceClause{}},
	} {
		got, err := ParseTraceFilter(tc.in)
		if len(tc.want) == 0 {
			if err == nil {
				t.Errorf("%s: accepted: %+v", tc.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(tc.want)
		if string(gj) != string(wj) {
			t.Errorf("%s:\n got %s\nwant %s", tc.in, gj, wj)
		}
	}
	for _, bad := range []string{"invalid.filter = 'x'", "foo = 'x'", "status > 'OK'", "timestamp = '1'", "tags.a IN ('x')",
		"trace.text = 'x'", "span.bogus = 'x'", "span.attributes. = 'x'", "status = OK", "status RLIKE 'x'", "a = 'b' OR c = 'd'", "experiment_id = '1'"} {
		if cs, err := ParseTraceFilter(bad); err == nil {
			t.Errorf("%q accepted: %+v", bad, cs)
		} else if !strings.Contains(err.Error(), "nvalid") && !strings.Contains(err.Error(), "xpected") {
			t.Errorf("%q: unhelpful error %v", bad, err)
		}
	}
}

func TestParseTraceOrderBy(t *testing.T) {
	got, err := ParseTraceOrderBy([]string{"timestamp ASC", "tags.k DESC", "name", "run_id DESC"})
	if err != nil {
		t.Fatal(err)
	}
	want := []TraceOrder{{TraceAttr, "timestamp_ms", false}, {TraceTagKey, "k", true}, {TraceTagKey, TraceTagName, false}, {TraceMetadataKey, TraceMetaSourceRun, true}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("order %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range [][]string{{"text"}, {"span.name"}, {"timestamp UP"}, {"timestamp", "timestamp_ms DESC"}, {"nope"}} {
		if _, err := ParseTraceOrderBy(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// A span through OTLP comes out as MLflow's span dictionary, byte for byte
// as Python writes it (checked against Span.from_otel_proto().to_dict()
// dumped with json.dumps).
func TestSpanFromProto(t *testing.T) {
	body := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"000102030405060708090a0b0c0d0e0f","spanId":"0001020304050607",` +
		`"parentSpanId":"0706050403020100","name":"s","startTimeUnixNano":"5","endTimeUnixNano":"9","status":{"code":1,"message":"dropped"},` +
		`"attributes":[{"key":"x","value":{"arrayValue":{"values":[{"intValue":"1"},{"doubleValue":0.5}]}}},{"key":"mlflow.traceRequestId","value":{"stringValue":"tr-custom"}}],` +
		`"events":[{"name":"e","timeUnixNano":"7","attributes":[{"key":"k","value":{"stringValue":"v"}}]}]}]}]}]}`
	td, err := DecodeOTLP("application/json; charset=utf-8", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	groups, err := SpansFromOTLP(td)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0].TraceID != "tr-custom" || len(groups[0].Spans) != 1 {
		t.Fatalf("groups = %+v", groups)
	}
	sp := groups[0].Spans[0]
	want := `{"trace_id": "AAECAwQFBgcICQoLDA0ODw==", "span_id": "AAECAwQFBgc=", "parent_span_id": "BwYFBAMCAQA=", "name": "s", ` +
		`"start_time_unix_nano": 5, "end_time_unix_nano": 9, "events": [{"name": "e", "time_unix_nano": 7, "attributes": {"k": "v"}}], ` +
		`"status": {"code": "STATUS_CODE_OK", "message": ""}, "attributes": {"mlflow.traceRequestId": "\"tr-custom\"", "x": "[1, 0.5]"}}`
	if string(sp.Content) != want {
		t.Errorf("content:\n got %s\nwant %s", sp.Content, want)
	}
	if sp.SpanID != "0001020304050607" || sp.ParentID != "0706050403020100" || sp.Status != "OK" || sp.StartNs != 5 || sp.EndNs != 9 {
		t.Errorf("span = %+v", sp)
	}
	// Back to the proto JSON of the v3 API.
	pj, err := SpanProtoJSON(sp.Content)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(pj)
	wantPJ := `{"trace_id":"AAECAwQFBgcICQoLDA0ODw==","span_id":"AAECAwQFBgc=","parent_span_id":"BwYFBAMCAQA=","name":"s","start_time_unix_nano":5,"end_time_unix_nano":9,` +
		`"attributes":[{"key":"mlflow.traceRequestId","value":{"string_value":"tr-custom"}},{"key":"x","value":{"array_value":{"values":[{"int_value":1},{"double_value":0.5}]}}}],` +
		`"events":[{"name":"e","time_unix_nano":7,"attributes":[{"key":"k","value":{"string_value":"v"}}]}],"status":{"code":"STATUS_CODE_OK"}}`
	if string(js) != wantPJ {
		t.Errorf("proto JSON:\n got %s\nwant %s", js, wantPJ)
	}
	// The same request as binary protobuf gives the same span.
	bin, _ := proto.Marshal(td)
	td2, err := DecodeOTLP("application/x-protobuf", bin)
	if err != nil {
		t.Fatal(err)
	}
	g2, _ := SpansFromOTLP(td2)
	if string(g2[0].Spans[0].Content) != want {
		t.Errorf("protobuf content differs: %s", g2[0].Spans[0].Content)
	}
}

func TestSpansBound(t *testing.T) {
	ss := &tracepb.ScopeSpans{}
	for range MaxSpansPerRequest + 1 {
		ss.Spans = append(ss.Spans, &tracepb.Span{TraceId: make([]byte, 16), SpanId: make([]byte, 8)})
	}
	_, err := SpansFromOTLP(&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{ss}}}})
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("over the span bound: %v", err)
	}
}

// FuzzDecodeOTLPJSON: any body decodes to spans or a 400, never a panic,
// and decoded spans always have MLflow's id shapes and valid JSON content.
func FuzzDecodeOTLPJSON(f *testing.F) {
	f.Add(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"000102030405060708090a0b0c0d0e0f","spanId":"0001020304050607","name":"s"}]}]}]}`)
	f.Add(`{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"000102030405060708090a0b0c0d0e0f","span_id":"0001020304050607","attributes":[{"key":"a","value":{"kvlistValue":{"values":[{"key":"b","value":{"doubleValue":"NaN"}}]}}}]}]}]}]}`)
	f.Add(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","links":[{"traceId":"00"}]}]}]}]}`)
	f.Add(`{}`)
	f.Add(`[1]`)
	f.Fuzz(func(t *testing.T, body string) {
		td, err := DecodeOTLP("application/json", []byte(body))
		if err != nil {
			var he *Error
			if !errors.As(err, &he) || he.Status != 400 {
				t.Fatalf("error is not a 400: %v", err)
			}
			return
		}
		groups, err := SpansFromOTLP(td)
		if err != nil {
			return
		}
		for _, g := range groups {
			for _, sp := range g.Spans {
				if len(sp.SpanID) != 16 || !json.Valid(sp.Content) {
					t.Fatalf("bad span %+v", sp)
				}
				if _, err := SpanProtoJSON(sp.Content); err != nil {
					t.Fatalf("stored form does not read back: %v: %s", err, sp.Content)
				}
			}
		}
	})
}
