package explain

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sort"
	"sync"
)

// ErrNoOutliers reports that the labels mark no row as an outlier, so there
// is nothing to explain. The explainers return an empty Result in that case
// (MacroBase does too); commands turn it into this error.
var ErrNoOutliers = errors.New("explain: no outliers to explain")

// Options are the explainer's thresholds.
type Options struct {
	MinSupport float64 // fraction of the outliers a combination must cover
	MinRatio   float64 // least value of Metric
	Metric     Metric
	MaxOrder   int // largest combination, 1 to 3
	Workers    int // goroutines; 0 means GOMAXPROCS

	// Specific, when positive, makes APriori report the most specific
	// combination when it is far stronger than its parts, instead of
	// MacroBase's rule (a combination that passes both thresholds is
	// reported and never extended). With Specific = F:
	//
	//   - every combination with enough support is extended, reported or not;
	//   - a combination that passes both thresholds is reported only if its
	//     ratio is at least F times the ratio of each reported combination
	//     it contains (with none reported inside it, as MacroBase does);
	//   - a reported combination s is then dropped when a reported
	//     combination c inside s's rows explains it away: with c's rows
	//     removed from the data, s no longer passes both thresholds.
	//
	// So a planted {country=CAN, version=v3} cause is reported as the pair
	// alone, where MacroBase reports country=CAN and version=v3 separately.
	// Zero keeps MacroBase's exact output (the SQL DIFF operator's).
	// DefaultSpecific is the factor dawn explain uses.
	Specific float64
}

// DefaultSpecific is the factor by which a combination's ratio must exceed
// each of its reported parts' for Options.Specific to prefer it.
const DefaultSpecific = 2

// DefaultOptions are MacroBase's library defaults: support 0.1, global
// ratio 3, order 3. (MacroBase SQL's defaults are 0.2 and 1.5.)
func DefaultOptions() Options {
	return Options{MinSupport: 0.1, MinRatio: 3, Metric: GlobalRatio, MaxOrder: 3}
}

func (o Options) validate() error {
	switch {
	case math.IsNaN(o.MinSupport) || o.MinSupport < 0 || o.MinSupport > 1:
		return fmt.Errorf("explain: min support %v: want a fraction in [0, 1]", o.MinSupport)
	case math.IsNaN(o.MinRatio):
		return fmt.Errorf("explain: min ratio is NaN")
	case o.MaxOrder < 1 || o.MaxOrder > 3:
		return fmt.Errorf("explain: max order %d: want 1, 2 or 3", o.MaxOrder)
	case o.Metric < GlobalRatio || o.Metric > PrevalenceRatio:
		return fmt.Errorf("explain: unknown metric %d", int(o.Metric))
	case math.IsNaN(o.Specific) || o.Specific < 0 || math.IsInf(o.Specific, 0):
		return fmt.Errorf("explain: specific factor %v: want 0 (MacroBase's rule) or a positive factor such as %v", o.Specific, DefaultSpecific)
	}
	return nil
}

func (o Options) workers(rows int) int {
	w := o.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	if max := rows / (1 << 15); w > max {
		w = max
	}
	if w < 1 {
		w = 1
	}
	return w
}

// Explanation is one attribute-value combination.
type Explanation struct {
	// Values holds one entry per attribute of the run: the value, or ""
	// when the attribute is not part of the combination.
	Values       []string
	Order        int
	Support      float64
	Ratio        float64
	OutlierCount float64
	TotalCount   float64
}

// Result is the outcome of an explainer run.
type Result struct {
	Attributes   []string
	Metric       Metric
	Outliers     float64 // O
	Total        float64 // N
	Explanations []Explanation
}

// APriori runs MacroBase's cardinality-aware APriori search over the
// attribute columns. The explanations come ordered by order, then support
// and ratio, highest first.
func APriori(attrs []*Column, labels Labels, opt Options) (*Result, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	if len(attrs) == 0 {
		return nil, fmt.Errorf("explain: no attribute columns")
	}
	rows := attrs[0].Len()
	for _, c := range attrs {
		if c.Len() != rows {
			return nil, fmt.Errorf("explain: column %q has %d rows, column %q has %d", c.Name, c.Len(), attrs[0].Name, rows)
		}
	}
	if err := labels.validate(rows); err != nil {
		return nil, err
	}
	r := &Result{Metric: opt.Metric}
	for _, c := range attrs {
		r.Attributes = append(r.Attributes, c.Name)
	}
	s := &search{attrs: attrs, labels: labels, opt: opt, res: r, workers: opt.workers(rows), rows: rows}
	if err := s.run(); err != nil {
		return nil, err
	}
	if opt.Specific > 0 {
		s.explainAway()
	}
	sortExplanations(r.Explanations)
	return r, nil
}

type search struct {
	attrs   []*Column
	labels  Labels
	opt     Options
	res     *Result
	workers int
	rows    int
}

// chunks calls f for each worker's contiguous row range, concurrently.
func (s *search) chunks(f func(w, lo, hi int)) {
	if s.workers == 1 {
		f(0, 0, s.rows)
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < s.workers; w++ {
		lo, hi := s.rows*w/s.workers, s.rows*(w+1)/s.workers
		wg.Add(1)
		go func() { defer wg.Done(); f(w, lo, hi) }()
	}
	wg.Wait()
}

// counts holds (outliers, rows) pairs: cell i at [2i] and [2i+1].
type counts []float64

func (s *search) report(vals []int32, cols []int, o, n float64) {
	e := Explanation{Values: make([]string, len(s.attrs)), Order: len(cols), OutlierCount: o, TotalCount: n}
	for i, c := range cols {
		e.Values[c] = s.attrs[c].Dict[vals[i]]
	}
	e.Support = o / s.res.Outliers
	e.Ratio = s.opt.Metric.Ratio(o, n, s.res.Outliers, s.res.Total)
	s.res.Explanations = append(s.res.Explanations, e)
}

func (s *search) judge(o, n float64) action {
	return judge(o/s.res.Outliers, s.opt.Metric.Ratio(o, n, s.res.Outliers, s.res.Total), s.opt.MinSupport, s.opt.MinRatio)
}

func (s *search) run() error {
	// With few distinct values overall, one pass builds the cube of every
	// combination of raw codes; single items, pairs and triples all come
	// from it. Otherwise single items are counted first, and only the
	// extendable values are cubed.
	raw := s.rawCube()
	var single []counts
	if raw != nil {
		single = s.marginals(raw)
	} else {
		single = s.countSingles()
	}
	if s.res.Outliers <= 0 {
		return nil // nothing to explain; callers may report ErrNoOutliers
	}
	// Order 1, and the NEXT items that orders 2 and 3 are built from,
	// renumbered 1..K per column (0: not extendable).
	minCount := s.opt.MinSupport * s.res.Outliers
	type active struct {
		col      int
		remap    []int32   // code+1 -> id
		codes    []int32   // id -> code
		reported []float64 // id -> ratio when reported, else -Inf
	}
	var act []active
	for c, cnt := range single {
		var a active
		for k := 0; k < len(cnt)/2-1; k++ {
			o, n := cnt[2*(k+1)], cnt[2*(k+1)+1]
			if o <= 0 || !(o >= minCount) {
				continue
			}
			verdict := s.judge(o, n)
			if verdict == keep {
				s.report([]int32{int32(k)}, []int{c}, o, n)
			}
			if verdict == next || (verdict == keep && s.opt.Specific > 0) {
				if a.remap == nil {
					a.col, a.remap, a.codes, a.reported = c, make([]int32, len(cnt)/2), []int32{0}, []float64{math.Inf(-1)}
				}
				a.remap[k+1] = int32(len(a.codes))
				a.codes = append(a.codes, int32(k))
				r := math.Inf(-1)
				if verdict == keep {
					r = s.opt.Metric.Ratio(o, n, s.res.Outliers, s.res.Total)
				}
				a.reported = append(a.reported, r)
			}
		}
		if a.remap != nil {
			act = append(act, a)
		}
	}
	if s.opt.MaxOrder < 2 || len(act) < 2 {
		return nil
	}
	cols := make([]int, len(act))
	remaps := make([][]int32, len(act))
	radix := make([]int, len(act))
	for i, a := range act {
		cols[i], remaps[i], radix[i] = a.col, a.remap, len(a.codes)
	}
	var g *groups
	if raw != nil {
		g = &groups{ids: make([][]int32, len(act)), cnt: raw.cnt}
		for i, a := range act {
			ids := make([]int32, len(raw.cnt)/2)
			for gi, id := range raw.ids[a.col] {
				ids[gi] = a.remap[id]
			}
			g.ids[i] = ids
		}
	} else {
		g = s.cube(cols, remaps, radix)
	}
	decode := func(i int, id int32) int32 { return act[i].codes[id] }
	single1 := func(i int, id int32) float64 { return act[i].reported[id] }
	s.higherOrders(g, cols, radix, decode, single1)
	return nil
}

// rawCube cubes every attribute's codes (null included) when the cube is
// small enough for a dense table, else returns nil.
func (s *search) rawCube() *groups {
	m := len(s.attrs)
	cols := make([]int, m)
	remaps := make([][]int32, m)
	radix := make([]int, m)
	stride := make([]int, m)
	size := 1
	for i := m - 1; i >= 0; i-- {
		k := len(s.attrs[i].Dict) + 1
		if size > denseLimit/k {
			return nil
		}
		cols[i], radix[i], stride[i] = i, k, size
		size *= k
		id := make([]int32, k)
		for j := range id {
			id[j] = int32(j)
		}
		remaps[i] = id
	}
	return s.denseCube(cols, remaps, radix, stride, size)
}

// marginals derives the single-item counts and the totals from a raw cube.
func (s *search) marginals(g *groups) []counts {
	out := make([]counts, len(s.attrs))
	for c, col := range s.attrs {
		f := make(counts, 2*(len(col.Dict)+1))
		for gi, id := range g.ids[c] {
			f[2*id] += g.cnt[2*gi]
			f[2*id+1] += g.cnt[2*gi+1]
		}
		out[c] = f
	}
	for gi := 0; gi < len(g.cnt)/2; gi++ {
		s.res.Outliers += g.cnt[2*gi]
		s.res.Total += g.cnt[2*gi+1]
	}
	return out
}

// countSingles counts (outliers, rows) per dictionary code of every column,
// in parallel; index 0 counts the nulls. It also sets the totals.
func (s *search) countSingles() []counts {
	per := make([][]counts, s.workers)
	tot := make([][2]float64, s.workers)
	s.chunks(func(w, lo, hi int) {
		mine := make([]counts, len(s.attrs))
		for c, col := range s.attrs {
			if s.labels.Outlier != nil {
				u := make([]uint32, 2*(len(col.Dict)+1))
				countFlags(u, col.Codes[lo:hi], s.labels.Outlier[lo:hi])
				mine[c] = widen(u)
			} else {
				f := make(counts, 2*(len(col.Dict)+1))
				cnt, out := s.labels.Count[lo:hi], s.labels.OutlierCount[lo:hi]
				for i, k := range col.Codes[lo:hi] {
					j := 2 * int(k+1)
					f[j] += out[i]
					f[j+1] += cnt[i]
				}
				mine[c] = f
			}
		}
		// Totals from the first column: every row has one code there.
		var o, n float64
		for j := 0; j < len(mine[0]); j += 2 {
			o += mine[0][j]
			n += mine[0][j+1]
		}
		per[w], tot[w] = mine, [2]float64{o, n}
	})
	out := per[0]
	for w := 1; w < s.workers; w++ {
		for c := range out {
			for j, v := range per[w][c] {
				out[c][j] += v
			}
		}
	}
	for _, t := range tot {
		s.res.Outliers += t[0]
		s.res.Total += t[1]
	}
	return out
}

// countFlags is the hot loop of order 1: one load and two adds per row.
func countFlags(u []uint32, codes []int32, flags []bool) {
	flags = flags[:len(codes)]
	for i, k := range codes {
		j := 2 * int(k+1)
		u[j+1]++
		if flags[i] {
			u[j]++
		}
	}
}

func widen(u []uint32) counts {
	f := make(counts, len(u))
	for i, v := range u {
		f[i] = float64(v)
	}
	return f
}

// groups is the data reduced to its distinct combinations of extendable
// items: ids[c][g] is group g's id in active column c (0: none).
type groups struct {
	ids []([]int32)
	cnt counts
}

// denseLimit is the most cells a dense count table may have (a variable so
// tests can force the hash paths).
var denseLimit = 1 << 21

// cube reduces the rows to groups of identical extendable-item tuples.
func (s *search) cube(cols []int, remaps [][]int32, radix []int) *groups {
	m := len(cols)
	stride := make([]int, m)
	size, overflow := 1, false
	for i := m - 1; i >= 0; i-- {
		stride[i] = size
		hi, lo := bits.Mul64(uint64(size), uint64(radix[i]))
		if hi != 0 || lo > math.MaxInt64/4 {
			overflow = true
			break
		}
		size = int(lo)
	}
	if !overflow && size <= denseLimit {
		return s.denseCube(cols, remaps, radix, stride, size)
	}
	return s.hashCube(cols, remaps, radix, stride, overflow)
}

const block = 4096

func (s *search) denseCube(cols []int, remaps [][]int32, radix, stride []int, size int) *groups {
	per := make([]counts, s.workers)
	s.chunks(func(w, lo, hi int) {
		keys := make([]int32, block)
		var u []uint32
		var f counts
		if s.labels.Outlier != nil {
			u = make([]uint32, 2*size)
		} else {
			f = make(counts, 2*size)
		}
		for b := lo; b < hi; b += block {
			e := min(b+block, hi)
			k := keys[:e-b]
			clear(k)
			for i, c := range cols {
				addKeys(k, s.attrs[c].Codes[b:e], remaps[i], int32(stride[i]))
			}
			if u != nil {
				countFlags32(u, k, s.labels.Outlier[b:e])
			} else {
				cnt, out := s.labels.Count[b:e], s.labels.OutlierCount[b:e]
				for i, key := range k {
					f[2*key] += out[i]
					f[2*key+1] += cnt[i]
				}
			}
		}
		if u != nil {
			f = widen(u)
		}
		per[w] = f
	})
	total := per[0]
	for w := 1; w < len(per); w++ {
		for j, v := range per[w] {
			total[j] += v
		}
	}
	nz := 0
	for key := 0; key < size; key++ {
		if total[2*key+1] != 0 {
			nz++
		}
	}
	g := &groups{ids: make([][]int32, len(cols)), cnt: make(counts, 0, 2*nz)}
	for i := range cols {
		g.ids[i] = make([]int32, 0, nz)
	}
	for key := 0; key < size; key++ {
		if total[2*key+1] == 0 {
			continue
		}
		for i := range cols {
			g.ids[i] = append(g.ids[i], int32(key/stride[i]%radix[i]))
		}
		g.cnt = append(g.cnt, total[2*key], total[2*key+1])
	}
	return g
}

// addKeys adds one column's share of the mixed-radix key of each row.
func addKeys(keys, codes, remap []int32, stride int32) {
	codes = codes[:len(keys)]
	for i, k := range codes {
		keys[i] += remap[k+1] * stride
	}
}

func countFlags32(u []uint32, keys []int32, flags []bool) {
	flags = flags[:len(keys)]
	for i, k := range keys {
		j := 2 * int(k)
		u[j+1]++
		if flags[i] {
			u[j]++
		}
	}
}

// hashCube groups rows through a hash map when the dense cube would be too
// large (many extendable values). Rows with fewer than two extendable items
// cannot contribute to a pair and are skipped.
func (s *search) hashCube(cols []int, remaps [][]int32, radix, stride []int, overflow bool) *groups {
	type part struct {
		index map[string]int
		ids   [][]int32
		cnt   counts
	}
	per := make([]*part, s.workers)
	s.chunks(func(w, lo, hi int) {
		p := &part{index: map[string]int{}, ids: make([][]int32, len(cols))}
		key := make([]byte, 4*len(cols))
		ids := make([]int32, len(cols))
		for r := lo; r < hi; r++ {
			nz := 0
			for i, c := range cols {
				id := remaps[i][s.attrs[c].Codes[r]+1]
				ids[i] = id
				if id != 0 {
					nz++
				}
				key[4*i], key[4*i+1], key[4*i+2], key[4*i+3] = byte(id), byte(id>>8), byte(id>>16), byte(id>>24)
			}
			if nz < 2 {
				continue
			}
			gi, ok := p.index[string(key)]
			if !ok {
				gi = len(p.cnt) / 2
				p.index[string(key)] = gi
				for i := range cols {
					p.ids[i] = append(p.ids[i], ids[i])
				}
				p.cnt = append(p.cnt, 0, 0)
			}
			if s.labels.Outlier != nil {
				p.cnt[2*gi+1]++
				if s.labels.Outlier[r] {
					p.cnt[2*gi]++
				}
			} else {
				p.cnt[2*gi] += s.labels.OutlierCount[r]
				p.cnt[2*gi+1] += s.labels.Count[r]
			}
		}
		per[w] = p
	})
	g := &groups{ids: make([][]int32, len(cols))}
	// Groups from different workers need not be merged: the pair and
	// triple counts add up whatever the grouping.
	for _, p := range per {
		for i := range cols {
			g.ids[i] = append(g.ids[i], p.ids[i]...)
		}
		g.cnt = append(g.cnt, p.cnt...)
	}
	return g
}

// table counts (outliers, rows) per pair or triple of ids: dense when small.
type table struct {
	dense counts
	m     map[int64]*[2]float64
}

func newTable(cells int64) *table {
	if cells <= int64(denseLimit) {
		return &table{dense: make(counts, 2*cells)}
	}
	return &table{m: map[int64]*[2]float64{}}
}

func (t *table) add(key int64, o, n float64) {
	if t.dense != nil {
		t.dense[2*key] += o
		t.dense[2*key+1] += n
		return
	}
	c := t.m[key]
	if c == nil {
		c = new([2]float64)
		t.m[key] = c
	}
	c[0] += o
	c[1] += n
}

func (t *table) each(f func(key int64, o, n float64)) {
	if t.dense != nil {
		for k := 0; k < len(t.dense)/2; k++ {
			if t.dense[2*k+1] != 0 {
				f(int64(k), t.dense[2*k], t.dense[2*k+1])
			}
		}
		return
	}
	keys := make([]int64, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		f(k, t.m[k][0], t.m[k][1])
	}
}

// higherOrders evaluates pairs and triples of extendable items on the
// groups. reported1 gives an item's ratio when it was reported (-Inf when
// not), for Options.Specific.
func (s *search) higherOrders(g *groups, cols []int, radix []int, decode func(i int, id int32) int32, reported1 func(i int, id int32) float64) {
	m := len(cols)
	o := func(gi int) (float64, float64) { return g.cnt[2*gi], g.cnt[2*gi+1] }
	ng := len(g.cnt) / 2
	pairNext := map[[2]int]map[int64]bool{}
	// With Specific: the ratio of each reported pair, to hold triples to.
	pairReported := map[[2]int]map[int64]float64{}
	// stronger applies Specific's rule: ratio beats every reported part.
	stronger := func(oc, nc float64, parts ...float64) bool {
		r := s.opt.Metric.Ratio(oc, nc, s.res.Outliers, s.res.Total)
		for _, p := range parts {
			if !(r >= s.opt.Specific*p) && !math.IsInf(p, -1) {
				return false
			}
		}
		return true
	}
	for a := 0; a < m; a++ {
		for b := a + 1; b < m; b++ {
			rb := int64(radix[b])
			t := newTable(int64(radix[a]) * rb)
			ia, ib := g.ids[a], g.ids[b]
			for gi := 0; gi < ng; gi++ {
				if ia[gi] != 0 && ib[gi] != 0 {
					oc, nc := o(gi)
					t.add(int64(ia[gi])*rb+int64(ib[gi]), oc, nc)
				}
			}
			nx := map[int64]bool{}
			rep := map[int64]float64{}
			t.each(func(key int64, oc, nc float64) {
				x, y := int32(key/rb), int32(key%rb)
				verdict := s.judge(oc, nc)
				if s.opt.Specific > 0 {
					if verdict == keep && stronger(oc, nc, reported1(a, x), reported1(b, y)) {
						s.report([]int32{decode(a, x), decode(b, y)}, []int{cols[a], cols[b]}, oc, nc)
						rep[key] = s.opt.Metric.Ratio(oc, nc, s.res.Outliers, s.res.Total)
					}
					if verdict != prune {
						nx[key] = true
					}
					return
				}
				switch verdict {
				case keep:
					s.report([]int32{decode(a, x), decode(b, y)}, []int{cols[a], cols[b]}, oc, nc)
				case next:
					nx[key] = true
				}
			})
			pairNext[[2]int{a, b}] = nx
			pairReported[[2]int{a, b}] = rep
		}
	}
	if s.opt.MaxOrder < 3 {
		return
	}
	for a := 0; a < m; a++ {
		for b := a + 1; b < m; b++ {
			for c := b + 1; c < m; c++ {
				nab, nac, nbc := pairNext[[2]int{a, b}], pairNext[[2]int{a, c}], pairNext[[2]int{b, c}]
				if len(nab) == 0 || len(nac) == 0 || len(nbc) == 0 {
					continue
				}
				rb, rc := int64(radix[b]), int64(radix[c])
				t := newTable(int64(radix[a]) * rb * rc)
				ia, ib, ic := g.ids[a], g.ids[b], g.ids[c]
				for gi := 0; gi < ng; gi++ {
					if ia[gi] != 0 && ib[gi] != 0 && ic[gi] != 0 {
						oc, nc := o(gi)
						t.add((int64(ia[gi])*rb+int64(ib[gi]))*rc+int64(ic[gi]), oc, nc)
					}
				}
				t.each(func(key int64, oc, nc float64) {
					x, y, z := key/(rb*rc), key/rc%rb, key%rc
					if s.judge(oc, nc) != keep || !nab[x*rb+y] || !nac[x*rc+z] || !nbc[y*rc+z] {
						return
					}
					if s.opt.Specific > 0 {
						pr := func(i, j int, key int64) float64 {
							if r, ok := pairReported[[2]int{i, j}][key]; ok {
								return r
							}
							return math.Inf(-1)
						}
						if !stronger(oc, nc, reported1(a, int32(x)), reported1(b, int32(y)), reported1(c, int32(z)),
							pr(a, b, x*rb+y), pr(a, c, x*rc+z), pr(b, c, y*rc+z)) {
							return
						}
					}
					s.report([]int32{decode(a, int32(x)), decode(b, int32(y)), decode(c, int32(z))}, []int{cols[a], cols[b], cols[c]}, oc, nc)
				})
			}
		}
	}
}

// explainAway applies the last step of Options.Specific: a reported
// combination is dropped when a reported combination that contains it
// accounts for it, i.e. with that combination's rows removed from the data
// it fails the support or the ratio threshold.
func (s *search) explainAway() {
	es := s.res.Explanations
	drop := make([]bool, len(es))
	for i, part := range es {
		for _, c := range es {
			if c.Order <= part.Order || !within(part, c) {
				continue
			}
			o, n := part.OutlierCount-c.OutlierCount, part.TotalCount-c.TotalCount
			O, N := s.res.Outliers-c.OutlierCount, s.res.Total-c.TotalCount
			if judge(o/O, s.opt.Metric.Ratio(o, n, O, N), s.opt.MinSupport, s.opt.MinRatio) != keep {
				drop[i] = true
				break
			}
		}
	}
	kept := es[:0]
	for i, e := range es {
		if !drop[i] {
			kept = append(kept, e)
		}
	}
	s.res.Explanations = kept
}

func sortExplanations(es []Explanation) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.Order != b.Order {
			return a.Order < b.Order
		}
		if a.Support != b.Support {
			return a.Support > b.Support
		}
		if a.Ratio != b.Ratio {
			return a.Ratio > b.Ratio
		}
		for k := range a.Values {
			if a.Values[k] != b.Values[k] {
				return a.Values[k] < b.Values[k]
			}
		}
		return false
	})
}

// Sort orders the explanations as APriori returns them: by order, then
// support and ratio, highest first, then by values.
func (r *Result) Sort() { sortExplanations(r.Explanations) }
