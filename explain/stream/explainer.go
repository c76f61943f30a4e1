package stream

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"github.com/dawn-ml/dawn/explain"
)

// Config configures a streaming explainer.
type Config struct {
	Attrs []string
	// Either Predicate classifies each row, or the percentile classifier
	// does: outside the Cutoff-th percentiles (percent per tail) of the
	// reservoir sample, on the High and/or Low side.
	Predicate     *explain.Predicate
	Cutoff        float64
	High, Low     bool
	Warmup        int // rows that only fill the reservoir (default 1000)
	Retrain       int // rows between threshold updates (default 10000)
	ReservoirSize int // default 10000
	SketchSize    int // items each AMC keeps (default 10000)
	DecayRate     float64
	DecayEvery    int // rows between decays (default 100000; 0 rate: none)
	Period        int // rows between explanations (0: only on demand)
	Options       explain.Options
	Seed          uint64
}

func (c *Config) defaults() error {
	if len(c.Attrs) == 0 {
		return fmt.Errorf("stream: no attributes")
	}
	if len(c.Attrs) > 255 {
		return fmt.Errorf("stream: %d attributes, at most 255", len(c.Attrs))
	}
	if c.Predicate == nil {
		if !(c.Cutoff > 0 && c.Cutoff < 50) {
			return fmt.Errorf("stream: percentile cutoff %v: want a percentage in (0, 50)", c.Cutoff)
		}
		if !c.High && !c.Low {
			c.High, c.Low = true, true
		}
	}
	if c.Warmup <= 0 {
		c.Warmup = 1000
	}
	if c.Retrain <= 0 {
		c.Retrain = 10000
	}
	if c.ReservoirSize <= 0 {
		c.ReservoirSize = 10000
	}
	if c.SketchSize <= 0 {
		c.SketchSize = 10000
	}
	if c.DecayEvery <= 0 {
		c.DecayEvery = 100000
	}
	if c.DecayRate < 0 || c.DecayRate >= 1 {
		return fmt.Errorf("stream: decay rate %v: want [0, 1)", c.DecayRate)
	}
	if c.Options.MaxOrder == 0 {
		c.Options.MaxOrder = 3
	}
	if c.Options.MaxOrder < 1 || c.Options.MaxOrder > 3 {
		return fmt.Errorf("stream: max order %d: want 1 to 3", c.Options.MaxOrder)
	}
	return nil
}

// Explainer consumes rows one at a time.
type Explainer struct {
	cfg       Config
	res       *Reservoir
	out, in   *AMC
	low, high float64
	cmp       func(float64) bool
	rows      int64 // rows seen
	keyBuf    []byte
	items     [][]byte
	hashes    []uint64
	// decayed numbers of outlier and inlier rows
	outRows, inRows float64
}

// New returns a streaming explainer.
func New(cfg Config) (*Explainer, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	x := &Explainer{cfg: cfg, res: NewReservoir(cfg.ReservoirSize, cfg.Seed), out: NewAMC(cfg.SketchSize), in: NewAMC(cfg.SketchSize)}
	if cfg.Predicate != nil {
		m, err := cfg.Predicate.Matcher()
		if err != nil {
			return nil, err
		}
		x.cmp = m
	}
	return x, nil
}

// Rows is the number of rows observed.
func (x *Explainer) Rows() int64 { return x.rows }

// Thresholds are the current percentile cutoffs (NaN before warm-up).
func (x *Explainer) Thresholds() (low, high float64) { return x.low, x.high }

// Sketches exposes the outlier and inlier counters (for tests and stats).
func (x *Explainer) Sketches() (outliers, inliers *AMC) { return x.out, x.in }

// Observe consumes one row: the attribute values (in Config.Attrs order,
// "" for none) and the metric. It returns an explanation when a period
// ends, else nil.
func (x *Explainer) Observe(values []string, metric float64) *explain.Result {
	x.rows++
	var outlier bool
	if x.cmp != nil {
		outlier = x.cmp(metric)
	} else {
		x.res.Insert(metric)
		if x.rows <= int64(x.cfg.Warmup) {
			if x.rows == int64(x.cfg.Warmup) {
				x.retrain()
			}
			return nil
		}
		if x.rows%int64(x.cfg.Retrain) == 0 {
			x.retrain()
		}
		outlier = (x.cfg.High && metric > x.high) || (x.cfg.Low && metric < x.low)
	}
	x.count(values, outlier)
	if x.cfg.DecayRate > 0 && x.rows%int64(x.cfg.DecayEvery) == 0 {
		x.Decay()
	}
	if x.cfg.Period > 0 && x.rows%int64(x.cfg.Period) == 0 {
		return x.Explain()
	}
	return nil
}

// ObserveRow is Observe on a row's values and first metric.
func (x *Explainer) ObserveRow(r Row) (*explain.Result, error) {
	m := math.NaN()
	if len(r.Metrics) > 0 {
		m = r.Metrics[0]
	}
	return x.Observe(r.Values, m), nil
}

func (x *Explainer) retrain() {
	x.low = x.res.Quantile(x.cfg.Cutoff / 100)
	x.high = x.res.Quantile(1 - x.cfg.Cutoff/100)
}

// Decay ages every count and the reservoir's weight by the decay rate and
// ends the counters' epoch.
func (x *Explainer) Decay() {
	x.res.Decay(x.cfg.DecayRate)
	x.out.Decay(x.cfg.DecayRate)
	x.in.Decay(x.cfg.DecayRate)
	x.out.Maintain()
	x.in.Maintain()
	x.outRows *= 1 - x.cfg.DecayRate
	x.inRows *= 1 - x.cfg.DecayRate
}

// item keys: for each member, the attribute index, the value's length as a
// uvarint, and the value; combinations concatenate members in attribute order.
func (x *Explainer) count(values []string, outlier bool) {
	sk := x.in
	if outlier {
		sk = x.out
		x.outRows++
	} else {
		x.inRows++
	}
	x.items = x.items[:0]
	x.hashes = x.hashes[:0]
	buf := x.keyBuf[:0]
	for i, v := range values {
		if v == "" || i >= len(x.cfg.Attrs) {
			continue
		}
		start := len(buf)
		buf = append(buf, byte(i))
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		buf = append(buf, v...)
		x.items = append(x.items, buf[start:len(buf):len(buf)])
		x.hashes = append(x.hashes, Hash(buf[start:]))
	}
	x.keyBuf = buf
	it, hs := x.items, x.hashes
	for a := range it {
		sk.ObserveHash(hs[a], func() string { return string(it[a]) }, 1)
	}
	if x.cfg.Options.MaxOrder < 2 {
		return
	}
	if !outlier {
		// Inlier combinations are counted only among items held by the
		// outlier counter: an item never seen among outliers cannot be in
		// an explanation, and skipping it keeps a high-cardinality
		// attribute from flooding the counter (MacroBase's streaming
		// summarizer likewise tracks combinations of outlier items only).
		k := 0
		for a := range it {
			if x.out.counts[hs[a]] != nil {
				it[k], hs[k] = it[a], hs[a]
				k++
			}
		}
		it, hs = it[:k], hs[:k]
	}
	n := len(it)
	for a := 0; a < n; a++ {
		for b := a + 1; b < n; b++ {
			hab := combine(hs[a], hs[b])
			sk.ObserveHash(hab, func() string { return string(it[a]) + string(it[b]) }, 1)
			if x.cfg.Options.MaxOrder < 3 {
				continue
			}
			for c := b + 1; c < n; c++ {
				sk.ObserveHash(combine(hab, hs[c]), func() string { return string(it[a]) + string(it[b]) + string(it[c]) }, 1)
			}
		}
	}
}

// combine hashes a combination from its members' hashes, in order.
func combine(a, b uint64) uint64 {
	h := a*0x9e3779b97f4a7c15 ^ (b + 0x632be59bd9b4e019 + (a << 6) + (a >> 2))
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 29
	return h
}

// hashKey recomputes a stored key's hash from its members.
func hashKey(attrs []int, vals []string) uint64 {
	var h uint64
	var b []byte
	for i := range attrs {
		b = append(b[:0], byte(attrs[i]))
		b = binary.AppendUvarint(b, uint64(len(vals[i])))
		b = append(b, vals[i]...)
		if i == 0 {
			h = Hash(b)
		} else {
			h = combine(h, Hash(b))
		}
	}
	return h
}

// decodeKey splits a combination key into (attribute, value) members.
func decodeKey(k string) ([]int, []string, bool) {
	var attrs []int
	var vals []string
	for len(k) > 0 {
		a := int(k[0])
		l, n := binary.Uvarint([]byte(k[1:min(len(k), 11)]))
		if n <= 0 || 1+n+int(l) > len(k) {
			return nil, nil, false
		}
		attrs = append(attrs, a)
		vals = append(vals, k[1+n:1+n+int(l)])
		k = k[1+n+int(l):]
	}
	return attrs, vals, true
}

// Explain evaluates the current (decayed) counts with MacroBase's rules:
// single items first, pairs of extendable items, triples whose pairs were
// all extendable; a combination passing both thresholds is reported.
func (x *Explainer) Explain() *explain.Result {
	x.out.Maintain()
	x.in.Maintain()
	O, I := x.outRows, x.inRows
	r := &explain.Result{Attributes: x.cfg.Attrs, Metric: x.cfg.Options.Metric, Outliers: O, Total: O + I}
	if O <= 0 {
		return r
	}
	type cand struct {
		key   string
		attrs []int
		vals  []string
		o, n  float64
	}
	byOrder := make([][]cand, 4)
	x.out.Items(func(k string, o float64) {
		attrs, vals, ok := decodeKey(k)
		if !ok || len(attrs) > x.cfg.Options.MaxOrder {
			return
		}
		byOrder[len(attrs)] = append(byOrder[len(attrs)], cand{k, attrs, vals, o, o + x.in.CountHash(hashKey(attrs, vals))})
	})
	next := map[string]bool{}
	opt := x.cfg.Options
	for order := 1; order <= opt.MaxOrder; order++ {
		cs := byOrder[order]
		sort.Slice(cs, func(i, j int) bool { return cs[i].key < cs[j].key })
		for _, c := range cs {
			if order > 1 && !x.subsetsNext(c.attrs, c.vals, next) {
				continue
			}
			support := c.o / O
			ratio := opt.Metric.Ratio(c.o, c.n, O, O+I)
			if !(support >= opt.MinSupport) {
				continue
			}
			if ratio >= opt.MinRatio {
				e := explain.Explanation{Values: make([]string, len(x.cfg.Attrs)), Order: order, Support: support, Ratio: ratio, OutlierCount: c.o, TotalCount: c.n}
				for i, a := range c.attrs {
					e.Values[a] = c.vals[i]
				}
				r.Explanations = append(r.Explanations, e)
			} else {
				next[c.key] = true
			}
		}
	}
	r.Sort()
	return r
}

// subsetsNext reports whether every (order-1)-subset of the combination
// was extendable, which is MacroBase's rule for pairs (both items NEXT) and
// triples (all three pairs NEXT).
func (x *Explainer) subsetsNext(attrs []int, vals []string, next map[string]bool) bool {
	for skip := range attrs {
		var k []byte
		for i := range attrs {
			if i == skip {
				continue
			}
			k = append(k, byte(attrs[i]))
			k = binary.AppendUvarint(k, uint64(len(vals[i])))
			k = append(k, vals[i]...)
		}
		if !next[string(k)] {
			return false
		}
	}
	return true
}

// Result is one emission: the explanation after Rows rows (Final at the
// end of the input).
type Result struct {
	Rows   int64
	Final  bool
	Result *explain.Result
}
