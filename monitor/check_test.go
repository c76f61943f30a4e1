package monitor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/explain"
)

// frameOf writes rows (header first) to a temp file and reads it back as
// a frame, the way the command does.
func frameOf(t testing.TB, rows [][]string) *explain.Frame {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.csv")
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, ",") + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := explain.ReadFrame(path, explain.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// planted draws rows of (x, level, country, version); when shift is set,
// x moves by +6 in the rows of country CA running version v3 only.
func planted(rng *rand.Rand, n int, shift bool) [][]string {
	countries := []string{"US", "CA", "MX", "FR"}
	versions := []string{"v1", "v2", "v3"}
	levels := []string{"low", "mid", "high"}
	rows := [][]string{{"x", "level", "country", "version"}}
	for range n {
		c := countries[rng.IntN(len(countries))]
		v := versions[rng.IntN(len(versions))]
		x := rng.NormFloat64()
		if shift && c == "CA" && v == "v3" {
			x += 6
		}
		rows = append(rows, []string{fmt.Sprintf("%.4f", x), levels[rng.IntN(3)], c, v})
	}
	return rows
}

func TestPlantedSegment(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ref := frameOf(t, planted(rng, 3000, false))
	p, err := BuildProfile(context.Background(), ref, ProfileOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Before the change: no drift, no segment.
	same, err := Check(context.Background(), p, frameOf(t, planted(rng, 2000, false)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if same.Drift.DatasetDrift || len(same.Segments) != 0 {
		t.Errorf("in-distribution window: drift %+v segments %+v", same.Drift, same.Segments)
	}
	// The first window after the change.
	r, err := Check(context.Background(), p, frameOf(t, planted(rng, 2000, true)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var x *ColumnResult
	for i := range r.Drift.Columns {
		if r.Drift.Columns[i].Column == "x" {
			x = &r.Drift.Columns[i]
		}
	}
	// 3000 reference rows: Evidently's large-reference rule, Wasserstein/std.
	if x == nil || !x.Drift || x.Test != TestWasserstein {
		t.Fatalf("column x: %+v", x)
	}
	if len(r.Segments) == 0 {
		t.Fatal("no segment")
	}
	top := r.Segments[0]
	if len(top.Attributes) != 2 || top.Attributes["country"] != "CA" || top.Attributes["version"] != "v3" {
		t.Fatalf("top segment %+v, want {country=CA, version=v3}; all: %+v", top, r.Segments)
	}
	if top.Support < 0.8 || top.RiskRatio < 10 || top.RiskLow > top.RiskRatio || top.RiskHigh < top.RiskRatio {
		t.Errorf("top segment figures %+v", top)
	}
	for _, s := range r.Segments {
		if s.Reason == "drift" && len(s.Attributes) == 1 && (s.Attributes["country"] == "CA" || s.Attributes["version"] == "v3") {
			t.Errorf("a part of the planted pair reported alone: %+v", s)
		}
	}
}

func TestDefaultTests(t *testing.T) {
	for _, c := range []struct {
		cp   ColumnProfile
		want Test
	}{
		{ColumnProfile{Kind: Numeric, Count: 1000, Distinct: 6}, TestKS},
		{ColumnProfile{Kind: Numeric, Count: 1001, Distinct: 6}, TestWasserstein},
		{ColumnProfile{Kind: Numeric, Count: 500, Distinct: 5}, TestChi2},
		{ColumnProfile{Kind: Numeric, Count: 500, Distinct: 2}, TestZ},
		{ColumnProfile{Kind: Categorical, Count: 500, Distinct: 2}, TestZ},
		{ColumnProfile{Kind: Categorical, Count: 500, Distinct: 3}, TestChi2},
		{ColumnProfile{Kind: Categorical, Count: 5000, Distinct: 3}, TestJensenShannon},
		{ColumnProfile{Kind: Text, Count: 5000}, TestDomain},
	} {
		if got := chooseTest(&c.cp); got != c.want {
			t.Errorf("%+v: %s, want %s", c.cp, got, c.want)
		}
	}
}

func TestCheckSmallReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ref := frameOf(t, planted(rng, 500, false))
	p, err := BuildProfile(context.Background(), ref, ProfileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows := planted(rng, 400, true)
	rows = append(rows, []string{"1.0", "extreme", "US", "v1"}) // a new category
	r, err := Check(context.Background(), p, frameOf(t, rows), Options{Correction: "bonferroni"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ColumnResult{}
	for _, c := range r.Drift.Columns {
		got[c.Column] = c
	}
	if c := got["x"]; c.Test != TestKS || !c.Drift || c.PValue == nil || *c.PValue > 1e-3 {
		t.Errorf("x: %+v", c)
	}
	if c := got["level"]; c.Test != TestChi2 || c.Drift {
		t.Errorf("level: %+v", c)
	}
	var q *QualityColumn
	for i := range r.Quality.Columns {
		if r.Quality.Columns[i].Column == "level" {
			q = &r.Quality.Columns[i]
		}
	}
	if q == nil || len(q.NewCategories) != 1 || q.NewCategories[0] != "extreme" || q.NewCategoryRow != 1 {
		t.Errorf("quality of level: %+v", q)
	}
	// Empty window: reported, not an error.
	e, err := Check(context.Background(), p, frameOf(t, [][]string{{"x", "level", "country", "version"}}), Options{})
	if err != nil || !e.Quality.Empty || e.Drift.DatasetDrift {
		t.Errorf("empty window: %+v %v", e, err)
	}
	if _, err := Check(context.Background(), p, ref, Options{Tests: map[string]Test{"x": "magic"}}); err == nil {
		t.Error("unknown test: no error")
	}
}
