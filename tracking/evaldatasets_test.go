package tracking

import (
	"encoding/json"
	"strings"
	"testing"
)

func mustRecords(t *testing.T, s string) []EvalRecordInput {
	t.Helper()
	recs, err := ParseEvalRecords(s)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// The expected schemas were computed by MLflow 3.6's own
// SqlAlchemyStore._update_dataset_schema on the same records (and
// printed with json.dumps).
func TestUpdateEvalSchema(t *testing.T) {
	base := `{"inputs": {"a": "string"}, "outputs": {}, "expectations": {}, "version": "1.0"}`
	for _, tc := range []struct{ name, existing, records, want string }{
		{"nothing", "", `[]`, ""},
		{"types", "", `[{"inputs": {"q": "a", "n": 1, "f": 1.5, "b": true, "z": null, "l": [1], "o": {"x": 1}}, "expectations": {"e": 2e3}}]`,
			`{"inputs": {"q": "string", "n": "integer", "f": "float", "b": "boolean", "z": "null", "l": "array", "o": "object"}, "outputs": {}, "expectations": {"e": "float"}, "version": "1.0"}`},
		{"object outputs", "", `[{"inputs": {"q": "a"}, "outputs": {"o1": "x"}}, {"inputs": {"q": "b", "r": 2}, "outputs": {"o2": 3}}]`,
			`{"inputs": {"q": "string", "r": "integer"}, "outputs": {"o1": "string", "o2": "integer"}, "expectations": {}, "version": "1.0"}`},
		{"scalar outputs keep the first type", "", `[{"inputs": {}, "outputs": "text"}, {"inputs": {"k": 1}, "outputs": 5}]`,
			`{"inputs": {"k": "integer"}, "outputs": "string", "expectations": {}, "version": "1.0"}`},
		{"known fields keep their type", base, `[{"inputs": {"a": 1, "b": 2}}]`,
			`{"inputs": {"a": "string", "b": "integer"}, "outputs": {}, "expectations": {}, "version": "1.0"}`},
		{"no records", base, `[]`, base},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := UpdateEvalSchema(tc.existing, mustRecords(t, tc.records)); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestEvalDigestAndProfile(t *testing.T) {
	// Python: hashlib.sha256(b"test_eval_dataset:1700000000000").hexdigest()[:8]
	if got := EvalDigest("test_eval_dataset", 1700000000000); got != "a4cea0a6" {
		t.Fatalf("digest %s", got)
	}
	// Python: hashlib.sha256("données:42".encode()).hexdigest()[:8]
	if got := EvalDigest("données", 42); got != "54cad66d" {
		t.Fatalf("digest %s", got)
	}
	if EvalProfile(0) != "" || EvalProfile(3) != `{"num_records": 3}` {
		t.Fatalf("profile %q %q", EvalProfile(0), EvalProfile(3))
	}
}

func TestParseEvalRecords(t *testing.T) {
	recs := mustRecords(t, `[{"inputs": {"b": 1, "a": {"y": 2, "x": 1}}, "source": {"source_type": "trace", "source_data": {"trace_id": "tr-9"}}, "other": 1},
		{"inputs": {"a": {"x": 1, "y": 2}, "b": 1}, "outputs": null, "tags": {"mlflow.user": "bob"}},
		{"source": {"source_type": "Human", "source_data": {"source_id": "s-1"}}}]`)
	if recs[0].InputHash != recs[1].InputHash {
		t.Fatalf("inputs differing only in key order hash differently: %s %s", recs[0].InputHash, recs[1].InputHash)
	}
	if string(recs[0].Inputs) != `{"b":1,"a":{"y":2,"x":1}}` {
		t.Fatalf("inputs not kept as given: %s", recs[0].Inputs)
	}
	if recs[0].SourceType != "TRACE" || recs[0].SourceID != "tr-9" || string(recs[0].Source) != `{"source_type":"TRACE","source_data":{"trace_id":"tr-9"}}` {
		t.Fatalf("source: %+v", recs[0])
	}
	if recs[0].HasOutputs || !recs[1].HasOutputs || recs[1].Outputs != nil {
		t.Fatalf("outputs: %+v %+v", recs[0], recs[1])
	}
	if string(recs[2].Inputs) != "{}" || recs[2].SourceType != "HUMAN" || recs[2].SourceID != "s-1" {
		t.Fatalf("defaults: %+v", recs[2])
	}
	if UpsertAuthor(recs) != "bob" {
		t.Fatalf("author %q", UpsertAuthor(recs))
	}
	for _, bad := range []struct{ in, want string }{
		{`{}`, "JSON list"},
		{`[1]`, "record 0"},
		{`[{}, {"inputs": []}]`, "Invalid record 1 in 'records': inputs must be a JSON object"},
		{`[{"expectations": 1}]`, "expectations must be a JSON object"},
		{`[{"tags": "x"}]`, "tags must be a JSON object"},
		{`[{"source": "trace"}]`, "source must be a JSON object"},
		{`[{"source": {"source_type": "robot"}}]`, "invalid dataset record source type: ROBOT"},
		{`[{"source": {"source_type": "CODE", "source_data": 1}}]`, "source_data must be a JSON object"},
		{`[{"source": {"source_type": "CODE", "extra": 1}}]`, `unknown source field "extra"`},
	} {
		_, err := ParseEvalRecords(bad.in)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: error %v, want one saying %q", bad.in, err, bad.want)
		}
	}
}

// TestEvalRecordMerge follows MLflow's SqlEvaluationDatasetRecord.merge:
// outputs replaced when given, expectations and tags updated key by key,
// the source kept.
func TestEvalRecordMerge(t *testing.T) {
	recs := mustRecords(t, `[{"inputs": {"q": 1}, "expectations": {"a": 1, "b": 2}, "tags": {"t": "x"}, "source": {"source_type": "CODE"}},
		{"inputs": {"q": 1}, "expectations": {"b": 3, "c": 4}, "tags": {"mlflow.user": "eve"}, "outputs": [1, 2]},
		{"inputs": {"q": 1}, "expectations": {}, "outputs": null}]`)
	r := NewEvalRecord("dr-1", "d-1", recs[0], 100)
	if string(r.Outputs) != "{}" || r.CreatedBy != "" || r.SourceType != "CODE" {
		t.Fatalf("new record: %+v", r)
	}
	MergeEvalRecord(&r, recs[1], 200)
	if string(r.Expectations) != `{"a":1,"b":3,"c":4}` || string(r.Tags) != `{"t":"x","mlflow.user":"eve"}` || string(r.Outputs) != "[1,2]" {
		t.Fatalf("merged: exp %s tags %s out %s", r.Expectations, r.Tags, r.Outputs)
	}
	if r.LastUpdateTime != 200 || r.CreatedTime != 100 || r.LastUpdatedBy != "eve" || r.SourceType != "CODE" {
		t.Fatalf("merged: %+v", r)
	}
	MergeEvalRecord(&r, recs[2], 300)
	if r.Outputs != nil || string(r.Expectations) != `{"a":1,"b":3,"c":4}` || r.LastUpdatedBy != "eve" {
		t.Fatalf("second merge: %+v", r)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"dataset_record_id":"dr-1","dataset_id":"d-1","inputs":{"q":1},"expectations":{"a":1,"b":3,"c":4},"tags":{"t":"x","mlflow.user":"eve"},` +
		`"source":{"source_type":"CODE","source_data":{}},"source_type":"CODE","created_time":100,"last_update_time":300,"last_updated_by":"eve"}`
	if string(b) != want {
		t.Fatalf("json\n got %s\nwant %s", b, want)
	}
}

func TestEvalTagsAndTokens(t *testing.T) {
	tags, err := parseEvalTags(`{"s": "v", "n": 1.50, "t": true, "f": false, "z": null, "l": [1, 2], "s": "w"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Tag{{"s", "w"}, {"n", "1.50"}, {"t", "True"}, {"f", "False"}, {"l", "[1,2]"}}
	if len(tags) != len(want) {
		t.Fatalf("tags %v", tags)
	}
	for i := range want {
		if tags[i] != want[i] {
			t.Fatalf("tags %v, want %v", tags, want)
		}
	}
	for _, bad := range []string{`[]`, `"x"`, `{"": "v"}`, `{"k": "` + strings.Repeat("v", MaxEvalTagValue+1) + `"}`} {
		if _, err := parseEvalTags(bad); err == nil {
			t.Errorf("%.40s: no error", bad)
		}
	}
	tok := EncodeRecordToken(1700000000000, "dr-abc")
	// Python: base64.b64encode(b"1700000000000:dr-abc").decode()
	if tok != "MTcwMDAwMDAwMDAwMDpkci1hYmM=" {
		t.Fatalf("token %s", tok)
	}
	ts, id, err := DecodeRecordToken(tok)
	if err != nil || ts != 1700000000000 || id != "dr-abc" {
		t.Fatalf("decode: %d %q %v", ts, id, err)
	}
	for _, bad := range []string{"", "???", "MTIz", "eDpkci0x"} {
		if _, _, err := DecodeRecordToken(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestEvalDatasetJSON(t *testing.T) {
	d := EvalDataset{DatasetID: "d-1", Name: "n", Tags: []Tag{{"a", "1"}, {"b", `x"y`}}, Digest: "abcd1234", CreatedTime: 1, LastUpdateTime: 2}
	b, _ := json.Marshal(d)
	want := `{"dataset_id":"d-1","name":"n","tags":"{\"a\": \"1\", \"b\": \"x\\\"y\"}","digest":"abcd1234","created_time":1,"last_update_time":2}`
	if string(b) != want {
		t.Fatalf("\n got %s\nwant %s", b, want)
	}
	d.ExperimentIDs, d.Tags = []string{"3"}, nil
	b, _ = json.Marshal(d)
	if !strings.Contains(string(b), `"tags":"{}"`) || !strings.Contains(string(b), `"experiment_ids":["3"]`) {
		t.Fatalf("%s", b)
	}
}

// FuzzParseEvalRecords: the records parser never panics, and what it
// accepts has object inputs and a hash that ignores key order.
func FuzzParseEvalRecords(f *testing.F) {
	for _, s := range []string{`[]`, `[{"inputs": {"a": 1}}]`, `[{"inputs": {"b": [1, {"c": null}]}, "outputs": "x", "expectations": {"e": 1}, "tags": {"mlflow.user": "u"}, "source": {"source_type": "trace", "source_data": {"trace_id": "t"}}}]`, `[{"inputs": 1}]`, `{`, `[{"source": {"source_type": 1}}]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		recs, err := ParseEvalRecords(s)
		if err != nil {
			return
		}
		for _, r := range recs {
			if !isObject(r.Inputs) || len(r.InputHash) != 64 {
				t.Fatalf("accepted record %+v", r)
			}
			NewEvalRecord("dr-x", "d-x", r, 1)
			UpdateEvalSchema("", recs)
		}
	})
}

// FuzzParseEvalTags: the tags parser never panics and keeps its bounds.
func FuzzParseEvalTags(f *testing.F) {
	for _, s := range []string{`{}`, `{"a": "b"}`, `{"a": 1, "b": null}`, `[]`, `{"": 1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := parseEvalTags(s)
		if err != nil {
			return
		}
		for _, tg := range tags {
			if tg.Key == "" || len([]rune(tg.Value)) > MaxEvalTagValue {
				t.Fatalf("accepted tag %+v", tg)
			}
		}
	})
}
