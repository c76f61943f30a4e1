package tracking

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseRunFilter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Clause
	}{
		{"", nil},
		{"metrics.acc > 0.9", []Clause{{Entity: EntityMetric, Key: "acc", Op: ">", Num: 0.9, IsNum: true}}},
		{"metric.`my acc` <= -1e3", []Clause{{Entity: EntityMetric, Key: "my acc", Op: "<=", Num: -1000, IsNum: true}}},
		{`params.lr = '0.1' and tags."a b" != "x"`, []Clause{
			{Entity: EntityParam, Key: "lr", Op: "=", Str: "0.1"},
			{Entity: EntityTag, Key: "a b", Op: "!=", Str: "x"}}},
		{"tags.mlflow.runName ILIKE '%it''s%'", []Clause{{Entity: EntityTag, Key: "mlflow.runName", Op: "ILIKE", Str: "%it's%"}}},
		{"attributes.created >= 5", []Clause{{Entity: EntityAttribute, Key: "start_time", Op: ">=", Num: 5, IsNum: true}}},
		{"status = 'FINISHED'", []Clause{{Entity: EntityAttribute, Key: "status", Op: "=", Str: "FINISHED"}}},
		{"attr.run_id NOT IN ('a','b')", []Clause{{Entity: EntityAttribute, Key: "run_id", Op: "NOT IN", List: []string{"a", "b"}}}},
		{"datasets.digest IN ('d1')", []Clause{{Entity: EntityDataset, Key: "digest", Op: "IN", List: []string{"d1"}}}},
		{"metrics.a<>1", []Clause{{Entity: EntityMetric, Key: "a", Op: "!=", Num: 1, IsNum: true}}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRunFilter(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(tc.want)
			if string(g) != string(w) {
				t.Fatalf("got  %s\nwant %s", g, w)
			}
		})
	}
}

func TestParseRunFilterErrors(t *testing.T) {
	for _, in := range []string{
		"metrics.acc", "metrics.acc >", "metrics.acc > 'x'", "params.a > 1", "params.a = 1", "x.y = 'z'",
		"metrics.a > 1 OR metrics.b > 1", "tags.a IN ('x')", "run_id IN 'a'", "run_id IN ('a'", "params.a = 'x",
		"metrics. > 1", "attributes.bogus = 'x'", "start_time = 'x'", "metrics.a ! 1", "datasets.size = 'x'", "AND",
		"metrics.a > 1 AND", "(metrics.a > 1)",
		// Empty keys, which MLflow answers with 400 (found by FuzzParseRunFilter).
		`metriC."">0`, "metrics.`` > 0", "params.'' = 'x'", "`` = 'x'", `tags."" = 'x'`,
	} {
		t.Run(in, func(t *testing.T) {
			_, err := ParseRunFilter(in)
			var he *Error
			if !errors.As(err, &he) || he.Status != 400 || he.Code != CodeInvalidParameterValue {
				t.Fatalf("ParseRunFilter(%q) = %v, want INVALID_PARAMETER_VALUE", in, err)
			}
		})
	}
}

// TestFilterBounds: a filter of MaxFilterClauses clauses parses, one more
// is refused with 400 naming the limit, and the message quotes at most
// maxQuoted bytes of the filter.
func TestFilterBounds(t *testing.T) {
	clauses := make([]string, MaxFilterClauses)
	for i := range clauses {
		clauses[i] = "metrics.m > 1"
	}
	if cs, err := ParseRunFilter(strings.Join(clauses, " AND ")); err != nil || len(cs) != MaxFilterClauses {
		t.Fatalf("%d clauses: %d parsed, %v", MaxFilterClauses, len(cs), err)
	}
	over := strings.Join(append(clauses, "metrics.m > 1"), " AND ")
	_, err := ParseRunFilter(over)
	var he *Error
	if !errors.As(err, &he) || he.Status != 400 || !strings.Contains(he.Message, "more than 200 clauses") {
		t.Fatalf("%d clauses: %v, want a 400 naming the limit", MaxFilterClauses+1, err)
	}
	if len(he.Message) > maxQuoted+200 {
		t.Errorf("the message quotes the whole %d-byte filter: %d bytes", len(over), len(he.Message))
	}
	ids := make([]string, MaxFilterListValues+1)
	for i := range ids {
		ids[i] = "'a'"
	}
	if _, err := ParseRunFilter("run_id IN (" + strings.Join(ids[1:], ",") + ")"); err != nil {
		t.Fatalf("%d IN values: %v", MaxFilterListValues, err)
	}
	if _, err := ParseRunFilter("run_id IN (" + strings.Join(ids, ",") + ")"); !errors.As(err, &he) || he.Status != 400 {
		t.Fatalf("%d IN values: %v, want 400", len(ids), err)
	}
}

func TestParseOrderBy(t *testing.T) {
	got, err := ParseRunOrderBy([]string{"metrics.acc DESC", "params.`l r`", "attributes.created asc", "run_name"})
	if err != nil {
		t.Fatal(err)
	}
	want := []OrderBy{{EntityMetric, "acc", true}, {EntityParam, "l r", false}, {EntityAttribute, "start_time", false}, {EntityAttribute, "run_name", false}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"metrics.acc DOWN", "nope.x", "metrics.acc DESC extra", "attributes.bogus"} {
		if _, err := ParseRunOrderBy([]string{bad}); err == nil {
			t.Errorf("ParseRunOrderBy(%q) succeeded", bad)
		}
	}
}

func TestPageToken(t *testing.T) {
	for _, off := range []int{0, 1, 1000, 123456789} {
		got, err := DecodePageToken(EncodePageToken(off))
		if err != nil || got != off {
			t.Fatalf("round trip %d: %d, %v", off, got, err)
		}
	}
	for _, bad := range []string{"x", "eyJvZmZzZXQiOiAtMX0=", "bm90IGpzb24="} {
		if _, err := DecodePageToken(bad); err == nil {
			t.Errorf("DecodePageToken(%q) succeeded", bad)
		}
	}
}

// FuzzParseRunFilter checks that no input panics and that every failure
// is a 400 INVALID_PARAMETER_VALUE.
func FuzzParseRunFilter(f *testing.F) {
	for _, s := range []string{"metrics.acc > 0.9", "params.lr = '0.1' AND tags.`x y` LIKE '%a%'",
		"attributes.run_id IN ('a', 'b')", "datasets.name = \"d\"", "metric.\"m\" <> -1e9", "x", "'", "`", "(", "a IN ('"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ParseRunFilter(s)
		if err != nil {
			var he *Error
			if !errors.As(err, &he) || he.Code != CodeInvalidParameterValue || he.Status != 400 {
				t.Fatalf("ParseRunFilter(%q): error %v is not INVALID_PARAMETER_VALUE", s, err)
			}
			return
		}
		for _, c := range cs {
			if c.Key == "" {
				t.Fatalf("ParseRunFilter(%q): empty key in %+v", s, c)
			}
		}
		ParseRunOrderBy([]string{s})
		ParseExperimentFilter(s)
		ParseModelVersionFilter(s)
	})
}

// FuzzDecodeRequest feeds arbitrary bodies to the request decoder used by
// every POST endpoint: it must never panic, and every failure must be a 400.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{`{"run_id":"a","metrics":[{"key":"k","value":"NaN","timestamp":"1","step":2}]}`,
		`{"run_id": 1}`, `{`, `[]`, `{"metrics": [{"value": "Infinity"}]} {}`, `{"params":[{"key":"a","value":"b"}],"tags":null}`, `null`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/api/2.0/mlflow/runs/log-batch", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var dst logBatchReq
		err := DecodeRequest(httptest.NewRecorder(), req, &dst)
		if err != nil {
			var he *Error
			if !errors.As(err, &he) || he.Status != http.StatusBadRequest {
				t.Fatalf("DecodeRequest(%q): %v is not a 400", body, err)
			}
			return
		}
		ValidateBatch(dst.Metrics, dst.Params, dst.Tags)
	})
}

// FuzzMetricJSON checks the fast metric decoder against encoding/json.
func FuzzMetricJSON(f *testing.F) {
	for _, s := range []string{`{"key":"m","value":1.5,"timestamp":3,"step":-2}`, `{"value":"NaN","key":"x"}`,
		`{"key":"a\"b","value":1}`, `{"key":"k","value":1e400}`, `{"key":"k","value":1,"value":2}`, `{}`, `{"step":1.0}`, ` {"key" : "k" } `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fast Metric
		ferr := json.Unmarshal([]byte(s), &fast)
		var slow metricAlias
		serr := json.Unmarshal([]byte(s), &slow)
		if (ferr == nil) != (serr == nil) {
			t.Fatalf("%q: fast err %v, slow err %v", s, ferr, serr)
		}
		if ferr == nil {
			fast.fields = 0
			a, _ := json.Marshal(fast)
			b, _ := json.Marshal(Metric(slow))
			if string(a) != string(b) {
				t.Fatalf("%q: fast %s, slow %s", s, a, b)
			}
		}
	})
}
