package main

import (
	"github.com/dawn-ml/dawn/internal/shareddata"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dawn-ml/dawn/data"
)

func macrobaseDir(t *testing.T) string { return shareddata.Require(t, "macrobase") }

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

func csvLines(t *testing.T, path string, sorted bool) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if sorted {
		slices.Sort(l[1:])
	}
	return l
}

// By default explain prefers the specific cause: on MacroBase's DIFF case 1
// the pair CAN,v1 (global ratio 10.56) is more than twice CAN's (4.11), so
// it is reported; v1 has no outliers outside the pair (30 of 30), so it is
// explained away; CAN keeps 8 outliers in 178 rows outside the pair, a
// ratio of (8/178)/(8/978) = 5.49 on the remaining 1,057-79 rows, so it
// stays.
func TestExplainCLIPrefersTheSpecificCause(t *testing.T) {
	mb := macrobaseDir(t)
	out := filepath.Join(t.TempDir(), "out.csv")
	code, _, stderr := runCLI(t, "", "explain", "--data", filepath.Join(mb, "sql_diff", "sample.csv"), "--outlier", "usage > 1000",
		"--attrs", "location,version", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := csvLines(t, out, true)
	want := []string{"location,version,support,global_ratio,outlier_count,total_count",
		"CAN,,1.0,4.1128404669260705,38.0,257.0", "CAN,v1,0.7894736842105263,10.562958027981347,30.0,79.0"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// The MacroBase SQL DIFF cases 1-10 through `dawn explain` flags.
func TestExplainCLIReproducesDiffQueries(t *testing.T) {
	mb := macrobaseDir(t)
	sample := filepath.Join(mb, "sql_diff", "sample.csv")
	cases := map[int][]string{
		1: {}, 2: {}, 4: {"--min-support", "0.05", "--min-ratio", "10"}, 5: {"--max-order", "1"},
		6: {"--metric", "risk_ratio"}, 7: {"--min-support", "0.05", "--min-ratio", "10", "--max-order", "1"},
		8:  {"--min-support", "0.05", "--min-ratio", "10", "--metric", "risk_ratio"},
		9:  {"--metric", "risk_ratio", "--max-order", "1"},
		10: {"--min-support", "0.05", "--min-ratio", "10", "--metric", "risk_ratio", "--max-order", "1"},
	}
	for n, extra := range cases {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.csv")
			args := append([]string{"explain", "--exact-macrobase", "--data", sample, "--outlier", "usage > 1000", "--attrs", "location,version", "--out", out}, extra...)
			code, _, stderr := runCLI(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got := csvLines(t, out, true)
			want := csvLines(t, filepath.Join(mb, "sql_diff", "expected_"+strconv.Itoa(n)+".csv"), true)
			if !slices.Equal(got, want) {
				t.Fatalf("got %q\nwant %q", got, want)
			}
		})
	}
}

func TestExplainCLILibraryAndClassic(t *testing.T) {
	mb := macrobaseDir(t)
	type row struct {
		Values       map[string]string `json:"values"`
		Support      float64           `json:"support"`
		OutlierCount float64           `json:"outlier_count"`
		TotalCount   float64           `json:"total_count"`
	}
	var res struct {
		Outliers     float64 `json:"outliers"`
		Total        float64 `json:"total"`
		Explanations []row   `json:"explanations"`
	}
	jsonRun := func(args ...string) {
		t.Helper()
		code, out, stderr := runCLI(t, "", append(args, "--json")...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		res.Explanations = nil
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	// APLOutlierSummarizerTest.testSimple.
	jsonRun("explain", "--data", filepath.Join(mb, "lib", "sample.csv"), "--percentile", "usage:0.99", "--attrs", "location,version", "--min-support", "0.01", "--min-ratio", "10")
	if res.Outliers != 20 || len(res.Explanations) != 1 || res.Explanations[0].Values["location"] != "CAN" || res.Explanations[0].Values["version"] != "v3" || res.Explanations[0].OutlierCount != 10 || res.Explanations[0].TotalCount != 20 {
		t.Errorf("testSimple: %+v", res)
	}
	// Legacy MAD pipeline on simple.csv (1/x of A5, FP-growth).
	jsonRun("explain", "--data", filepath.Join(mb, "legacy", "simple.csv"), "--mad", "A5", "--low-metric", "--attrs", "A1,A2,A3,A4", "--explainer", "fpgrowth", "--min-support", "0.01", "--min-ratio", "0.01")
	if len(res.Explanations) != 1 || len(res.Explanations[0].Values) != 4 || res.Explanations[0].Values["A4"] != "3" {
		t.Errorf("MAD: %+v", res)
	}
	// Legacy MCD pipeline.
	jsonRun("explain", "--data", filepath.Join(mb, "legacy", "simple.csv"), "--mcd", "A4,A5", "--low-metric", "--attrs", "A1,A2,A3", "--explainer", "fpgrowth", "--min-support", "0.01", "--min-ratio", "0.01")
	if len(res.Explanations) != 1 || res.Explanations[0].Values["A1"] != "0" || res.Explanations[0].Values["A3"] != "2" {
		t.Errorf("MCD: %+v", res)
	}
	// APLCountMeanShiftSummarizerTest: time == 1 against the rest, by mean latency.
	jsonRun("explain", "--data", filepath.Join(mb, "lib", "sample_cubedshift.csv"), "--outlier", "time == 1", "--mean", "meanLatency", "--count", "count",
		"--attrs", "location,version,language", "--min-support", "0.05", "--min-ratio", "1.1")
	if len(res.Explanations) != 3 || res.Explanations[0].Values["location"] != "AUS" && res.Explanations[1].Values["location"] != "AUS" && res.Explanations[2].Values["location"] != "AUS" {
		t.Errorf("mean shift: %+v", res)
	}
	// Legacy sensor10k power drain.
	jsonRun("explain", "--data", filepath.Join(mb, "legacy", "sensor10k.csv.gz"), "--mad", "power_drain", "--attrs", "device_id", "--explainer", "fpgrowth", "--min-support", "0.01", "--min-ratio", "0.01")
	if len(res.Explanations) != 1 || res.Explanations[0].Values["device_id"] != "2040" {
		t.Errorf("sensor power: %+v", res)
	}
}

func TestExplainCLIBadInput(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "d.csv")
	os.WriteFile(f, []byte("m,loc\n1,a\n2,b\nNaN,a\n,b\n3,\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--outlier", "m > 1"}, 2, "--attrs is required"},
		{[]string{"--attrs", "loc"}, 2, "exactly one of"},
		{[]string{"--attrs", "loc", "--outlier", "m > 1", "--mad", "m"}, 2, "exactly one of"},
		{[]string{"--attrs", "nope", "--outlier", "m > 1"}, 1, `unknown column "nope"`},
		{[]string{"--attrs", "loc", "--mad", "loc"}, 1, `column "loc" is not numeric`},
		{[]string{"--attrs", "loc", "--outlier", "m > 100"}, 1, "no outliers"},
		{[]string{"--attrs", "loc", "--outlier", "m > x"}, 1, "a bare word is a column"},
		{[]string{"--attrs", "loc", "--outlier", "m >"}, 2, "ends early"},
		{[]string{"--attrs", "loc", "--outlier", "m > 1", "--metric", "odds"}, 2, "--metric"},
		{[]string{"--attrs", "loc", "--outlier", "m > 1", "--max-order", "4"}, 2, "--max-order"},
		{[]string{"--attrs", "loc", "--percentile", "m:1.5"}, 2, "--percentile"},
	} {
		code, _, stderr := runCLI(t, "", append([]string{"explain", "--data", f}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
	// NaN and empty cells: NaN never exceeds, the empty loc never explains.
	code, out, stderr := runCLI(t, "", "explain", "--data", f, "--attrs", "loc", "--outlier", "m >= 2", "--min-support", "0.1", "--min-ratio", "1")
	if code != 0 || !strings.Contains(out, "2 outliers of 5 rows") || !strings.Contains(out, "b ") || strings.Contains(out, "\nnull") {
		t.Errorf("NaN/empty: exit %d\n%s%s", code, out, stderr)
	}
}

func TestExplainCLIKeepsAttributeText(t *testing.T) {
	f := filepath.Join(t.TempDir(), "v.csv")
	var b strings.Builder
	b.WriteString("ver,m\n")
	for i := 0; i < 100; i++ {
		v, m := "2.0", 1
		if i%10 == 0 {
			v, m = "1.0", 5
		}
		fmt.Fprintf(&b, "%s,%d\n", v, m)
	}
	os.WriteFile(f, []byte(b.String()), 0o644)
	code, out, stderr := runCLI(t, "", "explain", "--data", f, "--outlier", "m > 2", "--attrs", "ver")
	if code != 0 || !strings.Contains(out, "\n1.0        1            10") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}

// csvToParquet converts a CSV file with package data.
func csvToParquet(t testing.TB, src, dst string) {
	t.Helper()
	r, err := data.Open(src, data.Options{Types: map[string]arrow.DataType{}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := data.Create(dst, r.Schema(), data.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestExplainCLIParquetMatchesCSV(t *testing.T) {
	mb := macrobaseDir(t)
	pq := filepath.Join(t.TempDir(), "sample.parquet")
	csvToParquet(t, filepath.Join(mb, "sql_diff", "sample.csv"), pq)
	out := filepath.Join(t.TempDir(), "o.csv")
	code, _, stderr := runCLI(t, "", "explain", "--data", pq, "--outlier", "usage > 1000", "--attrs", "location,version", "--min-support", "0.05", "--min-ratio", "10", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got, want := csvLines(t, out, true), csvLines(t, filepath.Join(mb, "sql_diff", "expected_4.csv"), true); !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
}

// The case: 100k events with a cause planted in
// {country=CAN, version=v3}. dawn explain names the pair alone by default;
// --exact-macrobase gives MacroBase's two separate causes.
func TestExplainCLIPlantedPair(t *testing.T) {
	var b strings.Builder
	b.WriteString("country,version,latency\n")
	countries := []string{"USA", "CAN", "MEX", "GBR", "FRA"}
	versions := []string{"v1", "v2", "v3"}
	// A fixed pattern instead of random draws: every 15 rows hold each
	// country-version pair once; CAN,v3 is slow in 40 of every 120 rows of
	// it, the others in 1 of every 300.
	pair := 0
	for i := 0; i < 100_005; i++ {
		c, v := countries[i%5], versions[(i/5)%3]
		slow := false
		if c == "CAN" && v == "v3" {
			slow = pair%3 == 0
			pair++
		} else {
			slow = i%300 == 7
		}
		lat := 10
		if slow {
			lat = 900
		}
		fmt.Fprintf(&b, "%s,%s,%d\n", c, v, lat)
	}
	p := filepath.Join(t.TempDir(), "events.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	explainKeys := func(extra ...string) []string {
		t.Helper()
		args := append([]string{"explain", "--data", p, "--outlier", "latency > 500", "--attrs", "country,version", "--metric", "risk_ratio", "--json"}, extra...)
		code, stdout, stderr := runCLI(t, "", args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var got struct {
			Explanations []struct {
				Values    map[string]string `json:"values"`
				RiskRatio float64           `json:"risk_ratio"`
			} `json:"explanations"`
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, e := range got.Explanations {
			var parts []string
			for _, a := range []string{"country", "version"} {
				if v, ok := e.Values[a]; ok {
					parts = append(parts, a+"="+v)
				}
			}
			ks = append(ks, strings.Join(parts, ","))
		}
		slices.Sort(ks)
		return ks
	}
	if got := explainKeys(); !slices.Equal(got, []string{"country=CAN,version=v3"}) {
		t.Errorf("default: %v, want only the pair", got)
	}
	if got := explainKeys("--exact-macrobase"); !slices.Equal(got, []string{"country=CAN", "version=v3"}) {
		t.Errorf("--exact-macrobase: %v, want the two parts", got)
	}
}
