package classic

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// HashMap<Integer, _> iterates by bucket (key mod table length for small
// keys), then by insertion within a bucket, and its table doubles past 3/4.
func TestJMapIteratesAsJavaHashMap(t *testing.T) {
	m := newJMap[int](0)
	for _, k := range []int32{17, 1, 33, 5, 16} {
		m.Put(k, 0)
	}
	// table 16: buckets 17→1, 1→1, 33→1, 5→5, 16→0
	if got, want := m.Keys(), []int32{16, 17, 1, 33, 5}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	for k := int32(100); m.Len() < 13; k++ {
		m.Put(k, 0)
	}
	if m.table != 32 {
		t.Errorf("13 entries: table %d, want 32", m.table)
	}
	m.Clear()
	if m.table != 32 || m.Len() != 0 {
		t.Errorf("clear: table %d len %d, want 32 and 0", m.table, m.Len())
	}
	// Guava's Sets.newHashSet(x) starts at table 2: 5 (bucket 1) precedes 2 (bucket 0)
	// until the table reaches 4, where 2 → bucket 2 and 5 → bucket 1.
	s := singleton(2)
	s.Add(5)
	if got, want := s.Keys(), []int32{5, 2}; !slices.Equal(got, want) {
		t.Errorf("small set order %v, want %v", got, want)
	}
	if got := newJMap[int](0); got.Len() != 0 {
		t.Fatal("new map not empty")
	}
}

func TestRiskRatio(t *testing.T) {
	// exposed 5 (2 in, 3 out) of 15; (3/5) / (2/10) = 3,
	// correction 2·sqrt((2/3)/5 + 1/10).
	rr, c := riskRatio(2, 3, 10, 5)
	if math.Abs(rr-3) > 1e-12 || math.Abs(c-2*math.Sqrt(2.0/15+0.1)) > 1e-12 {
		t.Errorf("riskRatio = %v, %v", rr, c)
	}
	for _, tc := range []struct{ ei, eo, ti, to, want float64 }{
		{0, 0, 10, 5, 0},           // no exposure
		{3, 0, 10, 5, 0},           // no exposed outliers
		{10, 5, 10, 5, 0},          // everything exposed
		{1, 5, 10, 5, math.Inf(1)}, // every outlier exposed
	} {
		if rr, _ := riskRatio(tc.ei, tc.eo, tc.ti, tc.to); rr != tc.want {
			t.Errorf("riskRatio(%v) = %v, want %v", tc, rr, tc.want)
		}
	}
}

func TestAMCEvictsAndDecays(t *testing.T) {
	a := newAMC(2)
	for _, k := range []int32{1, 1, 1, 2, 3, 3} {
		a.observe(k, 1)
	}
	a.multiply(0.5) // decay factor 2; evict item 2 (stored 1)
	if a.counts.Has(2) || a.maxEvicted != 1 {
		t.Fatalf("after epoch: %v, max evicted %v", a.counts.Keys(), a.maxEvicted)
	}
	a.observe(4, 1) // stored 1 + 1·2 = 3: reported 1.5 (over-reports)
	c := a.all()
	for k, want := range map[int32]float64{1: 1.5, 3: 1, 4: 1.5} {
		if got, _ := c.Get(k); got != want {
			t.Errorf("count %d = %v, want %v", k, got, want)
		}
	}
	if a.totalCount() != 4.5 { // (6 + 3) / 2
		t.Errorf("total %v, want 4.5", a.totalCount())
	}
}

func TestFPTreeCountsCombinations(t *testing.T) {
	s := newStreamingFPGrowth(0)
	freq := newJMap[float64](0)
	for k, v := range map[int32]float64{1: 5, 2: 3, 3: 1} {
		freq.Put(k, v)
	}
	s.decayAndReset(freq, 0)
	for _, txn := range [][]int32{{1, 2}, {3, 2, 1}, {1}, {2, 3}, {4}} {
		s.insert(txn)
	}
	set := func(ks ...int32) *jset {
		j := newJSet(0)
		for _, k := range ks {
			j.Add(k)
		}
		return j
	}
	got := s.counts([]itemset{{items: set(1, 2)}, {items: set(2, 3)}, {items: set(1, 2, 3)}, {items: set(1, 3)}, {items: set(4)}})
	for i, want := range []float64{2, 2, 1, 1, 0} {
		if got[i].count != want {
			t.Errorf("support of %v = %v, want %v", got[i].items.Keys(), got[i].count, want)
		}
	}
	// The frequent items' counts grew by the transactions (item 4 was not frequent).
	if v, _ := freq.Get(1); v != 8 {
		t.Errorf("count of item 1 = %v, want 5 + 3", v)
	}
	mined := map[string]float64{}
	for _, is := range s.itemsets() {
		k := slices.Clone(is.items.Keys())
		slices.Sort(k)
		mined[fmt.Sprint(k)] = is.count
	}
	if mined["[1 2]"] != 2 || mined["[2 3]"] != 2 {
		t.Errorf("mined %v", mined)
	}
}

func TestReservoirKeepsCapacity(t *testing.T) {
	r := newReservoir[int](10, 0.01, 0)
	for i := 0; i < 1000; i++ {
		r.add(i)
		if i%100 == 99 {
			r.advancePeriod()
		}
	}
	if got := len(r.sample()); got != 10 {
		t.Fatalf("sample of %d, want 10", got)
	}
	// Damping favours recent items: most of the sample is from the last half.
	late := 0
	for _, v := range r.sample() {
		if v >= 500 {
			late++
		}
	}
	if late < 5 {
		t.Errorf("only %d of 10 sampled items from the last 500", late)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Metrics: 1}, "no attributes"},
		{Config{Attrs: []string{"a"}}, "no metric"},
		{Config{Attrs: []string{"a"}, Metrics: 1, Warmup: 1}, "warm-up of 1 rows"},
		{Config{Attrs: []string{"a"}, Metrics: 1, Percentile: 1.5}, "score percentile 1.5"},
		{Config{Attrs: []string{"a"}, Metrics: 3, InputReservoir: 4}, "too small for MCD"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestObserveSkipsNaNAndChecksArity(t *testing.T) {
	p, err := New(Config{Attrs: []string{"a"}, Metrics: 1, Warmup: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Observe([]string{"x"}, []float64{math.NaN()}); err != nil || p.Rows() != 0 {
		t.Fatalf("NaN row: err %v, rows %d; want skipped", err, p.Rows())
	}
	if err := p.Observe([]string{"x"}, []float64{1, 2}); err == nil {
		t.Fatal("two metrics for a one-metric pipeline: no error")
	}
}
