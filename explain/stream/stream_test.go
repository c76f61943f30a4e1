package stream

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/explain"
)

func TestAMCWithinErrorBound(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int
		decay float64
	}{{"no decay", 100, 0}, {"decay", 100, 0.05}, {"tiny", 10, 0.01}} {
		t.Run(tc.name, func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(3, 4))
			zipf := rand.NewZipf(rnd, 1.2, 1, 5000)
			a := NewAMC(tc.size)
			exact := map[string]float64{}
			for i := 1; i <= 200000; i++ {
				k := fmt.Sprint(zipf.Uint64())
				a.Observe(k, 1)
				exact[k]++
				if i%10000 == 0 {
					if tc.decay > 0 {
						a.Decay(tc.decay)
						for k := range exact {
							exact[k] *= 1 - tc.decay
						}
					}
					a.Maintain()
				}
			}
			bound := a.ErrorBound()
			if a.Len() > tc.size {
				t.Fatalf("holds %d items after maintenance, size %d", a.Len(), tc.size)
			}
			worst := 0.0
			for k, c := range exact {
				est := a.Count(k)
				d := est - c
				if d < -1e-6*c || d > bound+1e-6*math.Max(1, c) {
					t.Fatalf("%s: estimate %v, exact %v, bound %v", k, est, c, bound)
				}
				worst = math.Max(worst, d)
			}
			// Every item heavier than the bound must be tracked.
			for k, c := range exact {
				if c > 2*bound && !a.Tracked(k) {
					t.Errorf("heavy item %s (%v > 2·%v) not tracked", k, c, bound)
				}
			}
			var total float64
			for _, c := range exact {
				total += c
			}
			if math.Abs(a.Total()-total) > 1e-6*total {
				t.Errorf("total %v, exact %v", a.Total(), total)
			}
			t.Logf("bound %.1f, worst overcount %.1f, total %.0f", bound, worst, total)
		})
	}
}

func TestReservoirQuantileAndDecay(t *testing.T) {
	r := NewReservoir(2000, 1)
	for i := 0; i < 100000; i++ {
		r.Insert(float64(i % 1000))
	}
	if q := r.Quantile(0.5); math.Abs(q-500) > 40 {
		t.Errorf("median %v, want about 500", q)
	}
	// After a shift, decay makes the sample follow the new values fast.
	for i := 0; i < 20000; i++ {
		if i%1000 == 0 {
			r.Decay(0.5)
		}
		r.Insert(5000 + float64(i%1000))
	}
	if q := r.Quantile(0.5); q < 5000 {
		t.Errorf("median %v after the shift, want above 5000", q)
	}
}

// plantedStream emits rows of three attributes whose metric is normal; from
// row `change` on, the segment a=a3, b=b7 (0.5% of rows) runs hot.
func plantedStream(rows, change int, emit func(vals []string, m float64) bool) {
	rnd := rand.New(rand.NewPCG(5, 6))
	vals := make([]string, 3)
	for i := 0; i < rows; i++ {
		ai, bi := rnd.IntN(10), rnd.IntN(20)
		vals[0], vals[1], vals[2] = fmt.Sprintf("a%d", ai), fmt.Sprintf("b%d", bi), fmt.Sprintf("c%d", rnd.IntN(5))
		m := 100 + 10*rnd.NormFloat64()
		if i >= change && ai == 3 && bi == 7 {
			m = 200 + 10*rnd.Float64()
		}
		if !emit(vals, m) {
			return
		}
	}
}

func TestPlantedSegmentReportedWithinTwoPeriods(t *testing.T) {
	const period, change = 10000, 100000
	x, err := New(Config{
		Attrs: []string{"a", "b", "c"}, Cutoff: 1, High: true,
		DecayRate: 0.5, DecayEvery: period, Period: period, Retrain: 1000,
		Options: explain.Options{MinSupport: 0.2, MinRatio: 10, Metric: explain.GlobalRatio, MaxOrder: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	first := -1
	n := 0
	plantedStream(200000, change, func(vals []string, m float64) bool {
		n++
		r := x.Observe(vals, m)
		if r == nil {
			return true
		}
		for _, e := range r.Explanations {
			d := explain.Describe(r, e)
			if n <= change {
				t.Errorf("row %d (before the change): reported %s (support %.2f ratio %.1f)", n, d, e.Support, e.Ratio)
			}
			if strings.Contains(d, "a=a3") && strings.Contains(d, "b=b7") && first < 0 {
				first = n
			}
		}
		return true
	})
	if first < 0 {
		t.Fatal("planted segment never reported")
	}
	if first > change+2*period {
		t.Fatalf("planted segment first reported at row %d, more than two periods after the change at %d", first, change)
	}
	t.Logf("reported at row %d (change at %d, period %d)", first, change, period)
}

func TestMemoryBoundedOnHighCardinality(t *testing.T) {
	rows := 300000
	if testing.Short() {
		rows = 50000
	}
	x, err := New(Config{Attrs: []string{"user", "b"}, Cutoff: 1, SketchSize: 500, DecayRate: 0.01, DecayEvery: 20000, Period: 50000})
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(9, 9))
	vals := make([]string, 2)
	for i := 0; i < rows; i++ {
		vals[0], vals[1] = fmt.Sprintf("u%d", i), fmt.Sprintf("b%d", rnd.IntN(4)) // every user new
		x.Observe(vals, rnd.NormFloat64())
		o, in := x.Sketches()
		if o.Len() > 4*500+1 || in.Len() > 4*500+1 {
			t.Fatalf("row %d: sketches hold %d and %d items, bound %d", i, o.Len(), in.Len(), 4*500)
		}
	}
	if x.res.Len() > 10000 {
		t.Fatalf("reservoir holds %d", x.res.Len())
	}
}

func TestStreamPredicateMatchesBatch(t *testing.T) {
	// With no decay and sketches large enough to hold everything, the
	// streaming explanation equals the batch APriori explanation.
	p, _ := explain.ParsePredicate("m > 150")
	x, err := New(Config{Attrs: []string{"a", "b", "c"}, Predicate: &p, SketchSize: 100000,
		Options: explain.Options{MinSupport: 0.1, MinRatio: 3, Metric: explain.RiskRatio, MaxOrder: 3}})
	if err != nil {
		t.Fatal(err)
	}
	var cols [3][]string
	var flags []bool
	plantedStream(50000, 20000, func(vals []string, m float64) bool {
		x.Observe(vals, m)
		for i := range vals {
			cols[i] = append(cols[i], vals[i])
		}
		flags = append(flags, m > 150)
		return true
	})
	got := x.Explain()
	var cs []*explain.Column
	for i, n := range []string{"a", "b", "c"} {
		cs = append(cs, explain.EncodeStrings(n, cols[i]))
	}
	want, err := explain.APriori(cs, explain.Labels{Outlier: flags}, explain.Options{MinSupport: 0.1, MinRatio: 3, Metric: explain.RiskRatio, MaxOrder: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Explanations) != len(want.Explanations) || len(want.Explanations) == 0 {
		t.Fatalf("stream %d explanations, batch %d", len(got.Explanations), len(want.Explanations))
	}
	for i := range want.Explanations {
		g, w := got.Explanations[i], want.Explanations[i]
		if explain.Describe(got, g) != explain.Describe(want, w) || g.OutlierCount != w.OutlierCount || g.TotalCount != w.TotalCount || g.Ratio != w.Ratio {
			t.Errorf("%d: stream %s %+v, batch %s %+v", i, explain.Describe(got, g), g, explain.Describe(want, w), w)
		}
	}
}

func TestSelectDesc(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for n := 1; n < 200; n += 7 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(rnd.IntN(20))
		}
		s := append([]float64(nil), v...)
		sort.Sort(sort.Reverse(sort.Float64Slice(s)))
		for k := 0; k < n; k++ {
			w := append([]float64(nil), v...)
			if got := selectDesc(w, k); got != s[k] {
				t.Fatalf("n=%d k=%d: got %v want %v", n, k, got, s[k])
			}
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	x, err := New(Config{Attrs: []string{"a", "b", "c", "d"}, Cutoff: 1, High: true, DecayRate: 0.01, DecayEvery: 100000, Period: 100000,
		Options: explain.Options{MinSupport: 0.2, MinRatio: 3, MaxOrder: 3}})
	if err != nil {
		b.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	rows := make([][]string, 1<<16)
	ms := make([]float64, len(rows))
	for i := range rows {
		rows[i] = []string{fmt.Sprintf("a%d", rnd.IntN(10)), fmt.Sprintf("b%d", rnd.IntN(20)), fmt.Sprintf("c%d", rnd.IntN(5)), fmt.Sprintf("u%d", rnd.IntN(100000))}
		ms[i] = rnd.NormFloat64()
	}
	i := 0
	for b.Loop() {
		x.Observe(rows[i&(len(rows)-1)], ms[i&(len(rows)-1)])
		i++
	}
}
