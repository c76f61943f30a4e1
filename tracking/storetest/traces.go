package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpSpan is one span for an OTLP export in the tests.
type otlpSpan struct {
	trace, id, parent [8]byte // trace is the high half; the low half is trace too
	name              string
	start, end        uint64
	code              tracepb.Status_StatusCode
	attrs             map[string]*commonpb.AnyValue
}

func traceBytes(t [8]byte) []byte { return append(t[:], t[:]...) }

func strVal(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

// postOTLP sends spans as binary OTLP to /v1/traces for experiment exp.
func postOTLP(t *testing.T, c *Client, exp string, spans ...otlpSpan) Resp {
	t.Helper()
	ss := &tracepb.ScopeSpans{}
	for _, s := range spans {
		ps := &tracepb.Span{TraceId: traceBytes(s.trace), SpanId: s.id[:], Name: s.name, StartTimeUnixNano: s.start, EndTimeUnixNano: s.end,
			Status: &tracepb.Status{Code: s.code}}
		if s.parent != ([8]byte{}) {
			ps.ParentSpanId = s.parent[:]
		}
		for _, k := range sortedKeys(s.attrs) {
			ps.Attributes = append(ps.Attributes, &commonpb.KeyValue{Key: k, Value: s.attrs[k]})
		}
		ss.Spans = append(ss.Spans, ps)
	}
	body, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{ss}}}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", c.base+"/v1/traces", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Mlflow-Experiment-Id", exp)
	return c.send(req)
}

func sortedKeys(m map[string]*commonpb.AnyValue) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

func traceIDOf(b [8]byte) string { return fmt.Sprintf("tr-%x%x", b, b) }

// startTraceV3 records a finished trace's info.
func startTraceV3(t *testing.T, c *Client, id, exp, requestTime, duration, state string, tags map[string]string) map[string]any {
	t.Helper()
	info := map[string]any{"trace_id": id, "trace_location": map[string]any{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": map[string]any{"experiment_id": exp}},
		"request_time": requestTime, "execution_duration": duration, "state": state, "tags": tags,
		"trace_metadata": map[string]any{"mlflow.trace_schema.version": "3"}}
	return obj(obj(c.OK("POST", api3+"traces", map[string]any{"trace": map[string]any{"trace_info": info}})["trace"])["trace_info"])
}

func searchV3(t *testing.T, c *Client, body map[string]any) (ids []string, next string) {
	t.Helper()
	r := c.OK("POST", api3+"traces/search", body)
	for _, tr := range list(r["traces"]) {
		ids = append(ids, str(obj(tr)["trace_id"]))
	}
	return ids, str(r["next_page_token"])
}

func loc(exp string) []any {
	return []any{map[string]any{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": map[string]any{"experiment_id": exp}}}
}

func eqList(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// testTraces drives the trace APIs the way MLflow 3's client and UI do.
func testTraces(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	t.Run("v2 start end", func(t *testing.T) {
		c := c.For(t)
		ti := obj(c.OK("POST", api+"traces", map[string]any{"experiment_id": exp, "timestamp_ms": 1000,
			"request_metadata": []any{map[string]any{"key": "m1", "value": "a"}, map[string]any{"key": "m2", "value": "b"}},
			"tags":             []any{map[string]any{"key": "t1", "value": "x"}}})["trace_info"])
		id := str(ti["request_id"])
		eq(t, "status", str(ti["status"]), "IN_PROGRESS")
		eq(t, "timestamp", num(ti["timestamp_ms"]), 1000)
		if _, ok := ti["execution_time_ms"]; ok {
			t.Fatalf("execution_time_ms set before the end: %v", ti)
		}
		eq(t, "artifact location", str(kv(ti["tags"])["mlflow.artifactLocation"]), "mlflow-artifacts:/"+exp+"/traces/"+id+"/artifacts")
		ti = obj(c.OK("PATCH", api+"traces/"+id, map[string]any{"timestamp_ms": 3500, "status": "OK",
			"request_metadata": []any{map[string]any{"key": "m1", "value": "c"}}, "tags": []any{map[string]any{"key": "t2", "value": "y"}}})["trace_info"])
		eq(t, "execution", num(ti["execution_time_ms"]), 2500)
		eq(t, "status", str(ti["status"]), "OK")
		md, tags := kv(ti["request_metadata"]), kv(ti["tags"])
		eq(t, "m1", md["m1"], any("c"))
		eq(t, "m2", md["m2"], any("b"))
		eq(t, "t1", tags["t1"], any("x"))
		eq(t, "t2", tags["t2"], any("y"))
		got := obj(c.OK("GET", api+"traces/"+id+"/info", nil)["trace_info"])
		eq(t, "info id", str(got["request_id"]), id)
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "PATCH", api+"traces/tr-nope", map[string]any{"timestamp_ms": 1, "status": "OK"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "PATCH", api+"traces/"+id, map[string]any{"timestamp_ms": 1, "status": "DONE"})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api+"traces", map[string]any{"experiment_id": "987654", "timestamp_ms": 1})
		// The v2 search sees it.
		r := c.OK("GET", api+"traces", url.Values{"experiment_ids": {exp}})
		eq(t, "v2 search", len(list(r["traces"])), 1)
	})

	root := otlpSpan{trace: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, id: [8]byte{0, 0, 0, 0, 0, 0, 0, 1}, name: "root", start: 2_000_000_000, end: 5_000_000_000,
		code: tracepb.Status_STATUS_CODE_OK, attrs: map[string]*commonpb.AnyValue{
			"fruit":           strVal("apple"),
			"mlflow.spanType": strVal("CHAIN"),
			"mlflow.spanInputs": {Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
				{Key: "q", Value: strVal("héllo")}, {Key: "n", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 1}}}}}}},
		}}
	child := otlpSpan{trace: root.trace, id: [8]byte{0, 0, 0, 0, 0, 0, 0, 2}, parent: root.id, name: "child", start: 1_500_000_000, end: 6_000_000_000,
		code: tracepb.Status_STATUS_CODE_ERROR, attrs: map[string]*commonpb.AnyValue{"k": {Value: &commonpb.AnyValue_IntValue{IntValue: 7}}}}
	id := traceIDOf(root.trace)
	t.Run("otlp spans then info", func(t *testing.T) {
		c := c.For(t)
		// The child ends first: the trace exists, still in progress.
		if r := postOTLP(t, c, exp, child); r.Status != 200 {
			t.Fatalf("otlp: %d %s", r.Status, r.Raw)
		}
		info := obj(obj(c.OK("GET", api3+"traces/"+id, nil)["trace"])["trace_info"])
		eq(t, "state before root", str(info["state"]), "IN_PROGRESS")
		eq(t, "spans location", str(obj(info["tags"])["mlflow.trace.spansLocation"]), "TRACKING_STORE")
		partial := obj(c.OK("GET", api3+"traces/get", url.Values{"trace_id": {id}, "allow_partial": {"True"}})["trace"])
		eq(t, "partial spans", len(list(partial["spans"])), 1)
		if r := postOTLP(t, c, exp, root); r.Status != 200 {
			t.Fatalf("otlp: %d %s", r.Status, r.Raw)
		}
		info = obj(obj(c.OK("GET", api3+"traces/"+id, nil)["trace"])["trace_info"])
		// The range covers both spans: 1.5 s to 6 s; the root's status.
		eq(t, "request_time", str(info["request_time"]), "1970-01-01T00:00:01.500Z")
		eq(t, "execution_duration", str(info["execution_duration"]), "4.500s")
		eq(t, "state", str(info["state"]), "OK")
		eq(t, "request preview", str(info["request_preview"]), `{"q": "héllo", "n": 1.0}`)
		// Then the client's StartTraceV3 with the info it computed.
		got := startTraceV3(t, c, id, exp, "1970-01-01T00:00:02Z", "3s", "OK", map[string]string{"mlflow.traceName": "root", "env": "prod"})
		eq(t, "start keeps spans location", str(obj(got["tags"])["mlflow.trace.spansLocation"]), "TRACKING_STORE")
		eq(t, "start time", str(got["request_time"]), "1970-01-01T00:00:02Z")
		eq(t, "schema", str(obj(got["trace_metadata"])["mlflow.trace_schema.version"]), "3")
		// A trace id of another experiment is refused.
		other := newExperiment(t, c)
		r := postOTLP(t, c, other, root)
		eq(t, "other experiment status", r.Status, 400)
	})
	t.Run("get trace", func(t *testing.T) {
		c := c.For(t)
		tr := obj(c.OK("GET", api3+"traces/get", url.Values{"trace_id": {id}})["trace"])
		spans := list(tr["spans"])
		eq(t, "spans", len(spans), 2)
		first := obj(spans[0])
		eq(t, "root first", str(first["name"]), "root")
		eq(t, "trace_id base64", str(first["trace_id"]), "AQIDBAUGBwgBAgMEBQYHCA==")
		eq(t, "span_id base64", str(first["span_id"]), "AAAAAAAAAAE=")
		eq(t, "status", str(obj(first["status"])["code"]), "STATUS_CODE_OK")
		attrs := map[string]any{}
		for _, a := range list(first["attributes"]) {
			attrs[str(obj(a)["key"])] = obj(a)["value"]
		}
		eq(t, "fruit", str(obj(attrs["fruit"])["string_value"]), "apple")
		eq(t, "request id attr", str(obj(attrs["mlflow.traceRequestId"])["string_value"]), id)
		inputs := list(obj(obj(attrs["mlflow.spanInputs"])["kvlist_value"])["values"])
		eq(t, "kvlist key order", str(obj(inputs[0])["key"]), "q")
		second := obj(spans[1])
		eq(t, "child parent", str(second["parent_span_id"]), "AAAAAAAAAAE=")
		ca := obj(list(second["attributes"])[1])
		eq(t, "int attr", num(obj(ca["value"])["int_value"]), 7)
		b := c.OK("GET", api3+"traces/batchGet", url.Values{"trace_ids": {id, "tr-missing"}})
		eq(t, "batch", len(list(b["traces"])), 1)
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api3+"traces/get", url.Values{"trace_id": {"tr-missing"}})
	})
	t.Run("trace artifact", func(t *testing.T) {
		c := c.For(t)
		r := c.Do("GET", "/ajax-api/2.0/mlflow/get-trace-artifact", url.Values{"request_id": {id}})
		eq(t, "status", r.Status, 200)
		var td struct {
			Spans []map[string]any `json:"spans"`
		}
		if err := json.Unmarshal(r.Raw, &td); err != nil {
			t.Fatalf("traces.json: %v: %s", err, r.Raw)
		}
		eq(t, "spans", len(td.Spans), 2)
		// MLflow's span dictionary: attribute values are JSON texts, as
		// Python's json.dumps writes them.
		want := map[string]string{"mlflow.traceRequestId": `"` + id + `"`, "fruit": `"apple"`, "mlflow.spanType": `"CHAIN"`,
			"mlflow.spanInputs": `{"q": "héllo", "n": 1.0}`}
		for k, v := range want {
			eq(t, "attribute "+k, str(obj(td.Spans[0]["attributes"])[k]), v)
		}
		eq(t, "child status", str(obj(td.Spans[1]["status"])["code"]), "STATUS_CODE_ERROR")
		eq(t, "parent null", td.Spans[0]["parent_span_id"], nil)
		eq(t, "end", num(td.Spans[1]["end_time_unix_nano"]), 6e9)
		if !bytes.Contains(r.Raw, []byte(`"mlflow.spanInputs": "{\"q\": \"h\u00e9llo\", \"n\": 1.0}"`)) {
			t.Fatalf("stored span is not Python's json.dumps form: %s", r.Raw)
		}
		c.Fail(400, "BAD_REQUEST", "GET", "/ajax-api/2.0/mlflow/get-trace-artifact", url.Values{})
	})
	t.Run("large span payloads", func(t *testing.T) {
		c := c.For(t)
		// A root span whose output is over the 64 KiB threshold goes to
		// the artifact store; a 60 KiB child stays in its row. Reads give
		// both back whole, and the previews are what the full span gives.
		big := strings.Repeat("0123456789abcdef", 100<<10/16)
		mid := strings.Repeat("z", 60<<10)
		tr := [8]byte{9, 9, 9, 9, 1, 2, 3, 4}
		root := otlpSpan{trace: tr, id: [8]byte{0, 0, 0, 0, 0, 0, 0, 7}, name: "llm", start: 1e9, end: 2e9, code: tracepb.Status_STATUS_CODE_OK,
			attrs: map[string]*commonpb.AnyValue{"fruit": strVal("kiwi"), "mlflow.spanInputs": strVal("question"), "mlflow.spanOutputs": strVal(big)}}
		child := otlpSpan{trace: tr, id: [8]byte{0, 0, 0, 0, 0, 0, 0, 8}, parent: root.id, name: "tool", start: 1e9, end: 15e8, code: tracepb.Status_STATUS_CODE_OK,
			attrs: map[string]*commonpb.AnyValue{"note": strVal(mid)}}
		if r := postOTLP(t, c, exp, root, child); r.Status != 200 {
			t.Fatalf("otlp: %d %s", r.Status, r.Raw)
		}
		id := traceIDOf(tr)
		got := obj(c.OK("GET", api3+"traces/get", url.Values{"trace_id": {id}})["trace"])
		info := obj(got["trace_info"])
		eq(t, "request preview", str(info["request_preview"]), `"question"`)
		eq(t, "response preview", str(info["response_preview"]), `"`+big[:996]+"...")
		spans := list(got["spans"])
		eq(t, "spans", len(spans), 2)
		attrs := map[string]string{}
		for _, sp := range spans {
			for _, a := range list(obj(sp)["attributes"]) {
				attrs[str(obj(a)["key"])] = str(obj(obj(a)["value"])["string_value"])
			}
		}
		eq(t, "offloaded output whole", attrs["mlflow.spanOutputs"] == big, true)
		eq(t, "kept attribute", attrs["fruit"], "kiwi")
		eq(t, "row-kept span whole", attrs["note"] == mid, true)
		r := c.Do("GET", "/ajax-api/2.0/mlflow/get-trace-artifact", url.Values{"request_id": {id}})
		eq(t, "artifact status", r.Status, 200)
		if !bytes.Contains(r.Raw, []byte(big)) || bytes.Contains(r.Raw, []byte("dawn.payload")) {
			t.Fatalf("traces.json lacks the payload or shows the stub (%d bytes)", len(r.Raw))
		}
		// Exactly the large span is in the artifact store.
		files := list(c.OK("GET", "/api/2.0/mlflow-artifacts/artifacts", url.Values{"path": {exp + "/traces/" + id + "/artifacts/spans"}})["files"])
		eq(t, "payload files", len(files), 1)
		eq(t, "payload file", str(obj(files[0])["path"]), "0000000000000007.json")
		// Searches on kept attributes and span columns still find it.
		ids, _ := searchV3(t, c, map[string]any{"locations": loc(exp), "filter": "span.attributes.fruit LIKE '%kiwi%'"})
		eqList(t, "search kept attribute", ids, id)
	})
	t.Run("otlp json and errors", func(t *testing.T) {
		c := c.For(t)
		body := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a","spanId":"0b0b0b0b0b0b0b0b","name":"j",` +
			`"startTimeUnixNano":"7000000","endTimeUnixNano":9000000,"status":{"code":2,"message":"boom"},"attributes":[{"key":"b","value":{"boolValue":true}}]}]}]}]}`
		send := func(ct, exp, body string) Resp {
			req, _ := http.NewRequest("POST", c.base+"/v1/traces", strings.NewReader(body))
			req.Header.Set("Content-Type", ct)
			if exp != "" {
				req.Header.Set("X-Mlflow-Experiment-Id", exp)
			}
			return c.send(req)
		}
		if r := send("application/json", exp, body); r.Status != 200 {
			t.Fatalf("otlp json: %d %s", r.Status, r.Raw)
		}
		tr := obj(c.OK("GET", api3+"traces/get", url.Values{"trace_id": {"tr-0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a"}})["trace"])
		eq(t, "state from root", str(obj(tr["trace_info"])["state"]), "ERROR")
		sp := obj(list(tr["spans"])[0])
		eq(t, "error message", str(obj(sp["status"])["message"]), "boom")
		for _, tc := range []struct {
			name, ct, exp, body string
			status              int
		}{
			{"no header", "application/json", "", body, 400},
			{"no experiment", "application/json", "987654", body, 404},
			{"bad content type", "text/plain", exp, body, 400},
			{"bad hex", "application/json", exp, strings.Replace(body, "0b0b0b0b0b0b0b0b", "zz", 1), 400},
			{"short span id", "application/json", exp, strings.Replace(body, "0b0b0b0b0b0b0b0b", "0b0b", 1), 400},
			{"malformed", "application/json", exp, `{"resourceSpans":`, 400},
			{"no spans", "application/json", exp, `{}`, 400},
			{"bad protobuf", "application/x-protobuf", exp, "\xff\xff\xff", 400},
		} {
			if r := send(tc.ct, tc.exp, tc.body); r.Status != tc.status || str(r.Body["error_code"]) == "" {
				t.Errorf("%s: %d %s, want %d with an error_code", tc.name, r.Status, r.Raw, tc.status)
			}
		}
	})
	t.Run("search", func(t *testing.T) {
		c := c.For(t)
		exp := newExperiment(t, c)
		run := newRun(t, c, exp)
		var ids []string
		for i, st := range []string{"OK", "OK", "ERROR"} {
			id := fmt.Sprintf("tr-search%d-%s", i, exp)
			tags := map[string]string{"n": fmt.Sprint(i), "mlflow.traceName": fmt.Sprintf("trace%d", i)}
			startTraceV3(t, c, id, exp, fmt.Sprintf("2025-01-01T00:00:0%dZ", i), fmt.Sprintf("%ds", i+1), st, tags)
			ids = append(ids, id)
		}
		c.OK("POST", api+"traces/link-to-run", map[string]any{"trace_ids": []string{ids[1]}, "run_id": run})
		got, next := searchV3(t, c, map[string]any{"locations": loc(exp)})
		eqList(t, "default order: newest first", got, ids[2], ids[1], ids[0])
		eq(t, "no next", next, "")
		for _, tc := range []struct {
			filter string
			order  []string
			want   []string
		}{
			{"status = 'OK'", []string{"timestamp ASC"}, []string{ids[0], ids[1]}},
			{"trace.status != 'OK'", nil, []string{ids[2]}},
			{"tags.n = '1'", nil, []string{ids[1]}},
			{"tag.n IN ('0', '2')", nil, nil}, // tags take no IN
			{"name = 'trace2'", nil, []string{ids[2]}},
			{"name IN ('trace0', 'trace2')", nil, []string{ids[2], ids[0]}},
			{"attributes.timestamp_ms > 1735689600000", nil, []string{ids[2], ids[1]}},
			{"execution_time_ms >= 2000 AND execution_time_ms < 3000", nil, []string{ids[1]}},
			{"end_time_ms = 1735689603000", nil, []string{ids[1]}},
			{"request_metadata.`mlflow.trace_schema.version` = '3'", []string{"tags.n DESC"}, []string{ids[2], ids[1], ids[0]}},
			{"attribute.run_id = '" + run + "'", nil, []string{ids[1]}},
			{"request_id LIKE 'tr-search0%'", nil, []string{ids[0]}},
		} {
			body := map[string]any{"locations": loc(exp), "filter": tc.filter, "order_by": tc.order}
			if tc.want == nil {
				c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api3+"traces/search", body)
				continue
			}
			got, _ := searchV3(t, c, body)
			eqList(t, tc.filter, got, tc.want...)
		}
		for _, bad := range []string{"invalid.filter = 'x'", "status > 'OK'", "timestamp = 'x'", "trace.text = 'x'", "span.nope = 'x'", "tags.a = 'b' OR tags.c = 'd'"} {
			c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api3+"traces/search", map[string]any{"locations": loc(exp), "filter": bad})
		}
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api3+"traces/search", map[string]any{"locations": loc(exp), "max_results": 501})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api3+"traces/search", map[string]any{"locations": loc(exp), "order_by": []string{"timestamp", "timestamp DESC"}})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api3+"traces/search", map[string]any{"locations": []any{}})
		// Paging.
		page, next := searchV3(t, c, map[string]any{"locations": loc(exp), "max_results": 2})
		eqList(t, "page 1", page, ids[2], ids[1])
		if next == "" {
			t.Fatal("no next page token")
		}
		page, next = searchV3(t, c, map[string]any{"locations": loc(exp), "max_results": 2, "page_token": next})
		eqList(t, "page 2", page, ids[0])
		eq(t, "last page", next, "")
		// Correlation: 4 prod of which 3 TOOL, 1 TOOL elsewhere, 5 others.
		cexp := newExperiment(t, c)
		for i := range 10 {
			tags := map[string]string{"env": "dev", "kind": "LLM"}
			if i < 4 {
				tags["env"] = "prod"
			}
			if i < 3 || i == 9 {
				tags["kind"] = "TOOL"
			}
			startTraceV3(t, c, fmt.Sprintf("tr-corr%d-%s", i, cexp), cexp, "2025-01-01T00:00:00Z", "1s", "OK", tags)
		}
		r := c.OK("POST", api3+"traces/calculate-filter-correlation", map[string]any{"experiment_ids": []string{cexp},
			"filter_string1": "tags.env = 'prod'", "filter_string2": "tags.kind = 'TOOL'"})
		eq(t, "total", num(r["total_count"]), 10)
		eq(t, "f1", num(r["filter1_count"]), 4)
		eq(t, "f2", num(r["filter2_count"]), 4)
		eq(t, "joint", num(r["joint_count"]), 3)
		// n11=3 n10=1 n01=1 n00=5: PMI = ln(3*10/(4*4)), NPMI = PMI/-ln(3/10).
		want := math.Log(30.0/16) / -math.Log(0.3)
		if d := math.Abs(num(r["npmi"]) - want); d > 1e-12 {
			t.Fatalf("npmi = %v, want %v", r["npmi"], want)
		}
		r = c.OK("POST", api3+"traces/calculate-filter-correlation", map[string]any{"experiment_ids": []string{cexp},
			"filter_string1": "tags.env = 'staging'", "filter_string2": "tags.kind = 'TOOL'"})
		eq(t, "no support: NaN", str(r["npmi"]), "NaN")
		r = c.OK("POST", api3+"traces/calculate-filter-correlation", map[string]any{"experiment_ids": []string{cexp},
			"filter_string1": "tags.kind = 'TOOL'", "filter_string2": "tags.kind = 'LLM'"})
		eq(t, "never together", num(r["npmi"]), -1)
		r = c.OK("POST", api3+"traces/calculate-filter-correlation", map[string]any{"experiment_ids": []string{cexp},
			"filter_string1": "tags.env = 'prod'", "filter_string2": "tags.kind = 'TOOL'", "base_filter": "tags.env = 'prod'"})
		eq(t, "base total", num(r["total_count"]), 4)
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api3+"traces/calculate-filter-correlation", map[string]any{"experiment_ids": []string{cexp},
			"filter_string1": "invalid.filter = 'test'", "filter_string2": "tags.kind = 'TOOL'"})
	})
	t.Run("text search", func(t *testing.T) {
		c := c.For(t)
		exp := newExperiment(t, c)
		mk := func(b byte, attrs map[string]*commonpb.AnyValue) string {
			sp := otlpSpan{trace: [8]byte{9, 9, 9, 9, 9, 9, 9, b}, id: [8]byte{1}, name: fmt.Sprintf("trace%d", b), start: 1e9, end: 2e9,
				code: tracepb.Status_STATUS_CODE_OK, attrs: attrs}
			if r := postOTLP(t, c, exp, sp); r.Status != 200 {
				t.Fatalf("otlp: %d %s", r.Status, r.Raw)
			}
			return traceIDOf(sp.trace)
		}
		id1 := mk(1, map[string]*commonpb.AnyValue{"test": strVal("value1")})
		id2 := mk(2, map[string]*commonpb.AnyValue{"test": strVal("value2")})
		id3 := mk(3, map[string]*commonpb.AnyValue{"test3": strVal("I like it")})
		for _, tc := range []struct {
			filter string
			want   []string
		}{
			{"trace.text LIKE '%trace%'", []string{id1, id2, id3}},
			{"trace.text LIKE '%value%'", []string{id1, id2}},
			{"trace.text LIKE '%I like it%'", []string{id3}},
			{"trace.text LIKE '%i LIKE it%'", nil},
			{"trace.text ILIKE '%i LIKE it%'", []string{id3}},
			{"span.name = 'trace2'", []string{id2}},
			{"span.status = 'OK'", []string{id1, id2, id3}},
			{"span.attributes.test LIKE '%value2%'", []string{id2}},
		} {
			got, _ := searchV3(t, c, map[string]any{"locations": loc(exp), "filter": tc.filter, "order_by": []string{"request_id"}})
			eqList(t, tc.filter, got, tc.want...)
		}
	})
	t.Run("tags", func(t *testing.T) {
		c := c.For(t)
		id := "tr-tags-" + exp
		startTraceV3(t, c, id, exp, "2025-01-01T00:00:00Z", "1s", "OK", map[string]string{"tag1": "red", "tag2": "blue"})
		c.OK("PATCH", api+"traces/"+id+"/tags", map[string]any{"key": "tag1", "value": "green"})
		c.OK("DELETE", api3+"traces/"+id+"/tags", map[string]any{"key": "tag2"})
		tags := obj(obj(obj(c.OK("GET", api3+"traces/"+id, nil)["trace"])["trace_info"])["tags"])
		eq(t, "tag1", str(tags["tag1"]), "green")
		if _, ok := tags["tag2"]; ok {
			t.Fatal("tag2 not deleted")
		}
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "DELETE", api+"traces/"+id+"/tags", map[string]any{"key": "tag2"})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "PATCH", api+"traces/tr-nope/tags", map[string]any{"key": "a", "value": "b"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "PATCH", api+"traces/"+id+"/tags", map[string]any{"value": "b"})
	})
	t.Run("assessments", func(t *testing.T) {
		c := c.For(t)
		id := "tr-assess-" + exp
		startTraceV3(t, c, id, exp, "2025-01-01T00:00:00Z", "1s", "OK", nil)
		base := api3 + "traces/" + id + "/assessments"
		a := obj(c.OK("POST", base, map[string]any{"assessment": map[string]any{"assessment_name": "quality",
			"feedback": map[string]any{"value": map[string]any{"rating": 4}}, "source": map[string]any{"source_type": "HUMAN", "source_id": "me"},
			"rationale": "ok", "metadata": map[string]any{"v": "1"}}})["assessment"])
		aid := str(a["assessment_id"])
		if !strings.HasPrefix(aid, "a-") || len(aid) != 34 {
			t.Fatalf("assessment_id %q", aid)
		}
		eq(t, "valid", a["valid"], any(true))
		eq(t, "trace id", str(a["trace_id"]), id)
		eq(t, "rating", num(obj(obj(a["feedback"])["value"])["rating"]), 4)
		u := obj(c.OK("PATCH", base+"/"+aid, map[string]any{"assessment": map[string]any{"assessment_name": "q2",
			"feedback": map[string]any{"value": 5}, "metadata": map[string]any{"w": "2"}, "rationale": "ignored"},
			"update_mask": "assessmentName,feedback,metadata"})["assessment"])
		eq(t, "name", str(u["assessment_name"]), "q2")
		eq(t, "value", num(obj(u["feedback"])["value"]), 5)
		eq(t, "rationale kept", str(u["rationale"]), "ok")
		eq(t, "metadata merged", str(obj(u["metadata"])["v"])+str(obj(u["metadata"])["w"]), "12")
		eq(t, "source kept", str(obj(u["source"])["source_id"]), "me")
		c.Fail(400, "INVALID_PARAMETER_VALUE", "PATCH", base+"/"+aid, map[string]any{"assessment": map[string]any{"expectation": map[string]any{"value": 1}}, "update_mask": "expectation"})
		o := obj(c.OK("POST", base, map[string]any{"assessment": map[string]any{"assessment_name": "q3", "feedback": map[string]any{"value": 3}, "overrides": aid}})["assessment"])
		oid := str(o["assessment_id"])
		eq(t, "overridden invalid", obj(c.OK("GET", base+"/"+aid, nil)["assessment"])["valid"], any(false))
		infoAs := list(obj(obj(c.OK("GET", api3+"traces/"+id, nil)["trace"])["trace_info"])["assessments"])
		eq(t, "assessments on info", len(infoAs), 2)
		c.OK("DELETE", base+"/"+oid, nil)
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", base+"/"+oid, nil)
		eq(t, "restored valid", obj(c.OK("GET", base+"/"+aid, nil)["assessment"])["valid"], any(true))
		c.OK("DELETE", base+"/"+oid, nil) // deleting again is no error
		e := obj(c.OK("POST", base, map[string]any{"assessment": map[string]any{"assessment_name": "exp",
			"expectation": map[string]any{"value": map[string]any{"threshold_ms": 1000, "passed": true}}, "source": map[string]any{"source_type": "CODE"}}})["assessment"])
		sv := obj(obj(e["expectation"])["serialized_value"])
		eq(t, "serialized", str(sv["value"]), `{"passed": true, "threshold_ms": 1000}`)
		eq(t, "format", str(sv["serialization_format"]), "JSON_FORMAT")
		got, _ := searchV3(t, c, map[string]any{"locations": loc(exp), "filter": "feedback.q2 = '5'"})
		eqList(t, "feedback search", got, id)
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", base, map[string]any{"assessment": map[string]any{"feedback": map[string]any{"value": 1}}})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", base, map[string]any{"assessment": map[string]any{"assessment_name": "x"}})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", base, map[string]any{"assessment": map[string]any{"assessment_name": "x", "feedback": map[string]any{"value": 1}, "overrides": "a-nope"}})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api3+"traces/tr-nope/assessments", map[string]any{"assessment": map[string]any{"assessment_name": "x", "feedback": map[string]any{"value": 1}}})
	})
	t.Run("delete", func(t *testing.T) {
		c := c.For(t)
		exp := newExperiment(t, c)
		var ids []string
		for i := range 4 {
			id := fmt.Sprintf("tr-del%d-%s", i, exp)
			startTraceV3(t, c, id, exp, fmt.Sprintf("2025-01-01T00:00:0%dZ", i), "1s", "OK", nil)
			ids = append(ids, id)
		}
		del := func(body map[string]any) float64 {
			return num(c.OK("POST", api+"traces/delete-traces", body)["traces_deleted"])
		}
		eq(t, "by id", del(map[string]any{"experiment_id": exp, "request_ids": []string{ids[3], "tr-other"}}), 1)
		eq(t, "oldest one", del(map[string]any{"experiment_id": exp, "max_timestamp_millis": 1e15, "max_traces": 1}), 1)
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api3+"traces/"+ids[0], nil)
		c.OK("GET", api3+"traces/"+ids[1], nil)
		eq(t, "the rest", del(map[string]any{"experiment_id": exp, "max_timestamp_millis": 1e15}), 2)
		eq(t, "none left", del(map[string]any{"experiment_id": exp, "max_timestamp_millis": 1e15}), 0)
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"traces/delete-traces", map[string]any{"experiment_id": exp})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"traces/delete-traces", map[string]any{"experiment_id": exp, "request_ids": []string{"a"}, "max_traces": 1})
	})
}
