package explain

import (
	"math"
	"strings"
	"testing"
)

// key renders an explanation's combination as "col=value,..." for lookups.
func key(r *Result, e Explanation) string {
	var parts []string
	for i, v := range e.Values {
		if v != "" {
			parts = append(parts, r.Attributes[i]+"="+v)
		}
	}
	return strings.Join(parts, ",")
}

type want struct {
	support, ratio, o, n float64
}

func checkExplanations(t *testing.T, r *Result, exp map[string]want) {
	t.Helper()
	got := map[string]Explanation{}
	for _, e := range r.Explanations {
		got[key(r, e)] = e
	}
	for k, w := range exp {
		e, ok := got[k]
		if !ok {
			t.Errorf("missing explanation %s; got %v", k, keys(r))
			continue
		}
		if !close(e.Support, w.support) || !close(e.Ratio, w.ratio) || e.OutlierCount != w.o || e.TotalCount != w.n {
			t.Errorf("%s: got support %v ratio %v counts %v/%v, want %v %v %v/%v", k, e.Support, e.Ratio, e.OutlierCount, e.TotalCount, w.support, w.ratio, w.o, w.n)
		}
	}
	for k := range got {
		if _, ok := exp[k]; !ok {
			t.Errorf("unexpected explanation %s", k)
		}
	}
}

func keys(r *Result) []string {
	var ks []string
	for _, e := range r.Explanations {
		ks = append(ks, key(r, e))
	}
	return ks
}

// close compares to the digits MacroBase's tests state (exact when exact).
func close(a, b float64) bool {
	if math.IsInf(b, 0) || a == b {
		return a == b
	}
	return math.Abs(a-b) <= 1e-4*math.Max(1, math.Abs(b))
}

func loadLib(t *testing.T, rel string) *Frame {
	t.Helper()
	f, err := ReadCSVFile(macrobaseFile(t, rel), nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func attrs(t *testing.T, f *Frame, names ...string) []*Column {
	t.Helper()
	var cs []*Column
	for _, n := range names {
		c, err := f.Strings(n)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	return cs
}

func TestPercentileOfLegacyEstimate(t *testing.T) {
	v := []float64{5, 1, 4, 2, 3}
	for _, tc := range []struct{ p, want float64 }{
		{50, 3}, {1, 1}, {99, 5}, {25, 1.5}, {75, 4.5}, {10, 1},
	} {
		if got := PercentileOf(v, tc.p); got != tc.want {
			t.Errorf("PercentileOf(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := PercentileOf([]float64{math.NaN(), 2}, 50); got != 2 {
		t.Errorf("NaN not ignored: %v", got)
	}
}

// APLOutlierSummarizerTest.testSimple.
func TestAPrioriLibSimple(t *testing.T) {
	f := loadLib(t, "lib/sample.csv")
	usage, err := f.Numbers("usage")
	if err != nil {
		t.Fatal(err)
	}
	flags, _, _, err := Percentile{Cutoff: 1, High: true, Low: true}.Classify(usage)
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 3} {
		r, err := APriori(attrs(t, f, "location", "version"), Labels{Outlier: flags},
			Options{MinSupport: 0.01, MinRatio: 10, Metric: GlobalRatio, MaxOrder: 3, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if r.Outliers != 20 || r.Total != 1020 {
			t.Fatalf("outliers %v of %v, want 20 of 1020", r.Outliers, r.Total)
		}
		checkExplanations(t, r, map[string]want{"location=CAN,version=v3": {0.5, 25.5, 10, 20}})
	}
}

func cube(oCounts []float64) ([]*Column, Labels) {
	return []*Column{
			EncodeStrings("col1", []string{"a1", "a2", "a1", "a1"}),
			EncodeStrings("col2", []string{"b1", "b1", "b2", "b1"}),
			EncodeStrings("col3", []string{"c1", "c1", "c1", "c2"}),
		}, Labels{
			Count:        []float64{100, 300, 400, 500},
			OutlierCount: oCounts,
		}
}

// APLOutlierSummarizerTest.testCubeOrder3 and testSimpleOrder3.
func TestAPrioriCubeOrder3(t *testing.T) {
	a, l := cube([]float64{30, 5, 5, 7})
	r, err := APriori(a, l, Options{MinSupport: 0.1, MinRatio: 3, MaxOrder: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.Outliers != 47 {
		t.Fatalf("outliers %v, want 47", r.Outliers)
	}
	checkExplanations(t, r, map[string]want{"col1=a1,col2=b1,col3=c1": {30.0 / 47, 8.297872340425531, 30, 100}})

	a, _ = cube(nil)
	r, err = APriori(a, Labels{Count: []float64{1, 1, 1, 1}, OutlierCount: []float64{1, 0, 0, 0}}, Options{MinSupport: 0.1, MinRatio: 3, MaxOrder: 3})
	if err != nil {
		t.Fatal(err)
	}
	checkExplanations(t, r, map[string]want{"col1=a1,col2=b1,col3=c1": {1, 4, 1, 1}})
}

func TestAPrioriRules(t *testing.T) {
	// Hand-made: 10 outliers all with x=1 and y=1; x=1 is common among
	// inliers too, y=1 is not.
	var xs, ys []string
	var out []bool
	add := func(x, y string, o bool, n int) {
		for i := 0; i < n; i++ {
			xs, ys, out = append(xs, x), append(ys, y), append(out, o)
		}
	}
	add("1", "1", true, 10)
	add("1", "2", false, 80)
	add("2", "1", false, 5)
	add("2", "2", false, 105)
	a := []*Column{EncodeStrings("x", xs), EncodeStrings("y", ys)}
	// x=1: o=10 n=90 ratio (10/90)/(10/200)=2.22; y=1: o=10 n=15 ratio 13.3.
	r, err := APriori(a, Labels{Outlier: out}, Options{MinSupport: 0.5, MinRatio: 3, MaxOrder: 3})
	if err != nil {
		t.Fatal(err)
	}
	// y=1 is KEEP so the pair is not built from it: only y=1 is reported.
	checkExplanations(t, r, map[string]want{"y=1": {1, 10.0 / 15 / (10.0 / 200), 10, 15}})
	// With ratio 15 neither single passes; the pair (x=1, y=1) does: 20.
	r, err = APriori(a, Labels{Outlier: out}, Options{MinSupport: 0.5, MinRatio: 15, MaxOrder: 3})
	if err != nil {
		t.Fatal(err)
	}
	checkExplanations(t, r, map[string]want{"x=1,y=1": {1, 20, 10, 10}})
	// Order 1 only: nothing.
	r, err = APriori(a, Labels{Outlier: out}, Options{MinSupport: 0.5, MinRatio: 15, MaxOrder: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkExplanations(t, r, map[string]want{})
	// Risk ratio: every outlier has x=1 and y=1, so both are +Inf.
	r, err = APriori(a, Labels{Outlier: out}, Options{MinSupport: 0.5, MinRatio: 3, Metric: RiskRatio, MaxOrder: 3})
	if err != nil {
		t.Fatal(err)
	}
	checkExplanations(t, r, map[string]want{"y=1": {1, math.Inf(1), 10, 15}, "x=1": {1, math.Inf(1), 10, 90}})
}

func TestAPrioriTripleNeedsAllPairsNext(t *testing.T) {
	// Outliers: a=1,b=1,c=1. The pair (a=1,c=1) passes the ratio on its
	// own (KEEP), so the triple must not be reported even if it passes.
	var as, bs, cs []string
	var out []bool
	add := func(a, b, c string, o bool, n int) {
		for i := 0; i < n; i++ {
			as, bs, cs, out = append(as, a), append(bs, b), append(cs, c), append(out, o)
		}
	}
	add("1", "1", "1", true, 10)
	add("1", "1", "2", false, 40)
	add("1", "2", "1", false, 2)
	add("2", "1", "1", false, 40)
	add("2", "2", "2", false, 100)
	cols := []*Column{EncodeStrings("a", as), EncodeStrings("b", bs), EncodeStrings("c", cs)}
	r, err := APriori(cols, Labels{Outlier: out}, Options{MinSupport: 0.5, MinRatio: 5, MaxOrder: 3})
	if err != nil {
		t.Fatal(err)
	}
	// N=192, O=10. a=1: 10/52 -> 3.69 NEXT; b=1: 10/90 -> 2.13 NEXT;
	// c=1: 10/52 -> 3.69 NEXT. (a,b): 10/50 -> 3.84 NEXT; (a,c): 10/12 ->
	// 16 KEEP; (b,c): 10/50 -> 3.84 NEXT. Triple 10/10 -> 19.2 but (a,c)
	// was KEEP, so it is not reported.
	checkExplanations(t, r, map[string]want{"a=1,c=1": {1, (10.0 / 12) / (10.0 / 192), 10, 12}})
}

func TestAPrioriNoOutliersAndBadInput(t *testing.T) {
	f := loadLib(t, "lib/tiny.csv")
	usage, _ := f.Numbers("usage")
	flags, _, _, err := Percentile{Cutoff: 1, High: true, Low: true}.Classify(usage)
	if err != nil {
		t.Fatal(err)
	}
	// core BasicBatchPipelineTest: 3 rows in total, nothing to explain.
	r, err := APriori(attrs(t, f, "version", "location"), Labels{Outlier: flags}, Options{MinSupport: 0.2, MinRatio: 10, Metric: RiskRatio, MaxOrder: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 3 || r.Outliers != 0 || len(r.Explanations) != 0 {
		t.Fatalf("got total %v outliers %v explanations %d; want 3, 0, 0", r.Total, r.Outliers, len(r.Explanations))
	}
	if _, err := f.Numbers("location"); err == nil || !strings.Contains(err.Error(), "not numeric") {
		t.Errorf("non-numeric metric: got %v", err)
	}
	if _, err := f.Numbers("nope"); err == nil || !strings.Contains(err.Error(), `unknown column "nope"`) {
		t.Errorf("unknown column: got %v", err)
	}
	bad := []Options{{MinSupport: 2, MaxOrder: 3}, {MinSupport: 0.1, MaxOrder: 4}, {MinSupport: math.NaN(), MaxOrder: 1}}
	for _, o := range bad {
		if _, err := APriori(attrs(t, f, "version"), Labels{Outlier: flags}, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	if _, err := APriori(attrs(t, f, "version"), Labels{Outlier: flags[:2]}, Options{MinSupport: 0.1, MaxOrder: 1}); err == nil {
		t.Error("short labels accepted")
	}
}

func TestNullAttributesNeverExplain(t *testing.T) {
	c := EncodeStrings("x", []string{"", "", "a", "b"})
	r, err := APriori([]*Column{c}, Labels{Outlier: []bool{true, true, false, false}}, Options{MinSupport: 0.1, MinRatio: 0, MaxOrder: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Explanations) != 0 || r.Outliers != 2 {
		t.Fatalf("nulls explained: %+v", r)
	}
	metric := []float64{1, math.NaN(), 3, 1000}
	flags, err := Predicate{Column: "m", Op: OpGt, Value: "2"}.ClassifyNumbers(metric)
	if err != nil || flags[1] || !flags[2] || !flags[3] || flags[0] {
		t.Fatalf("NaN or predicate wrong: %v %v", flags, err)
	}
}

func TestDenseAndHashCubesAgree(t *testing.T) {
	// Many supported values force the hash path; compare with dense.
	n := 200000
	cols := make([][]string, 4)
	out := make([]bool, n)
	seed := uint64(1)
	rnd := func(k uint64) uint64 { seed = seed*6364136223846793005 + 1442695040888963407; return (seed >> 33) % k }
	for i := 0; i < n; i++ {
		for c := range cols {
			cols[c] = append(cols[c], string(rune('a'+c))+FormatNumber(float64(rnd(60))))
		}
		out[i] = rnd(10) == 0 || (cols[0][i] == "a1" && cols[1][i] == "b2")
	}
	var cs []*Column
	for c := range cols {
		cs = append(cs, EncodeStrings(string(rune('p'+c)), cols[c]))
	}
	opt := Options{MinSupport: 0.001, MinRatio: 1.3, MaxOrder: 3, Workers: 2}
	r1, err := APriori(cs, Labels{Outlier: out}, opt)
	if err != nil {
		t.Fatal(err)
	}
	old := denseLimit
	denseLimit = 0
	defer func() { denseLimit = old }()
	r2, err := APriori(cs, Labels{Outlier: out}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(r1.Explanations) != len(r2.Explanations) || len(r1.Explanations) == 0 {
		t.Fatalf("dense %d explanations, hash %d", len(r1.Explanations), len(r2.Explanations))
	}
	for i := range r1.Explanations {
		if key(r1, r1.Explanations[i]) != key(r2, r2.Explanations[i]) || r1.Explanations[i].TotalCount != r2.Explanations[i].TotalCount {
			t.Fatalf("explanation %d differs: %v vs %v", i, r1.Explanations[i], r2.Explanations[i])
		}
	}
}

func TestEmptyAndTinyInputs(t *testing.T) {
	for _, n := range []int{0, 1, 2} {
		vals := make([]string, n)
		out := make([]bool, n)
		for i := range vals {
			vals[i] = "v"
			out[i] = i == 0
		}
		r, err := APriori([]*Column{EncodeStrings("a", vals), EncodeStrings("b", vals)}, Labels{Outlier: out}, Options{MinSupport: 0.1, MinRatio: 1, MaxOrder: 3})
		if err != nil {
			t.Fatalf("%d rows: %v", n, err)
		}
		if r.Total != float64(n) {
			t.Errorf("%d rows: total %v", n, r.Total)
		}
		if _, err := FPGrowth([]*Column{EncodeStrings("a", vals)}, Labels{Outlier: out}, FPOptions{MinSupport: 0.1, MinRatio: 1, Combinations: true}); err != nil {
			t.Fatalf("fpgrowth %d rows: %v", n, err)
		}
	}
	if _, _, _, err := (Percentile{Cutoff: 1, High: true}).Classify(nil); err == nil {
		t.Error("percentile of nothing accepted")
	}
	if _, err := MADScores([]float64{1, 1, 1}); err == nil {
		t.Error("MAD of a constant accepted")
	}
	if _, err := (MCD{}).Scores([][]float64{{1, 2}, {3, 4}}); err == nil {
		t.Error("MCD on 2 rows accepted")
	}
}
