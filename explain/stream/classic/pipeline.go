package classic

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/explain/stream"
	"github.com/dawn-ml/dawn/internal/javarand"
)

// Config configures the pipeline. Zero values take MacroBase's defaults
// (MacroBaseDefaults) where it has one.
type Config struct {
	Attrs   []string
	Metrics int // number of metrics: 1 scores by MAD, more by MCD
	// LowMetric replaces every metric x by 1/max(x, 0.1) first.
	LowMetric bool
	// Percentile: a row is an outlier when its score is above this
	// quantile of the score reservoir (default 0.99).
	Percentile           float64
	MinSupport, MinRatio float64 // defaults 0.001 and 3
	DecayRate            float64 // default 0.01; negative: none
	Warmup               int     // rows before scoring starts (default 10,000)
	// ModelPeriod: rows between retraining the scorer on the input
	// reservoir and decaying that reservoir (default 100,000).
	ModelPeriod int
	// SummaryPeriod: rows between decays of the item counts, which also
	// rebuild the itemset trees (default 100,000).
	SummaryPeriod  int
	InputReservoir int // default 10,000
	ScoreReservoir int // default 10,000
	// OutlierItems and InlierItems bound the heavy-hitter counters
	// (default 100,000 items each).
	OutlierItems, InlierItems int
	// RefreshThreshold updates the score threshold (and decays the score
	// reservoir) every SummaryPeriod rows after the warm-up too, and
	// classifies each warm-up row by its own score. MacroBase does
	// neither (see Pipeline); the default reproduces it.
	RefreshThreshold bool
	// Period: rows between explanations ObserveRow returns (0: none;
	// call Explain).
	Period int
	// NoCombinations reports single items only; MaxOrder > 1 drops
	// combinations larger than it from the report (0: no limit).
	NoCombinations bool
	MaxOrder       int
	MCD            explain.MCD // several metrics: its Alpha and StoppingDelta
	Seed           int64       // every random draw, as new java.util.Random(Seed)
}

func (c *Config) defaults() error {
	if len(c.Attrs) == 0 {
		return fmt.Errorf("classic: no attributes")
	}
	if c.Metrics < 1 {
		return fmt.Errorf("classic: no metric")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Warmup, 10000)
	def(&c.ModelPeriod, 100000)
	def(&c.SummaryPeriod, 100000)
	def(&c.InputReservoir, 10000)
	def(&c.ScoreReservoir, 10000)
	def(&c.OutlierItems, 100000)
	def(&c.InlierItems, 100000)
	if c.Percentile == 0 {
		c.Percentile = 0.99
	}
	if c.MinSupport == 0 {
		c.MinSupport = 0.001
	}
	if c.MinRatio == 0 {
		c.MinRatio = 3
	}
	switch {
	case c.DecayRate == 0:
		c.DecayRate = 0.01
	case c.DecayRate < 0:
		c.DecayRate = 0
	}
	if c.DecayRate >= 1 {
		return fmt.Errorf("classic: decay rate %v: want [0, 1)", c.DecayRate)
	}
	if !(c.Percentile > 0 && c.Percentile < 1) {
		return fmt.Errorf("classic: score percentile %v: want a fraction in (0, 1)", c.Percentile)
	}
	if c.Warmup < 2 {
		return fmt.Errorf("classic: warm-up of %d rows: want at least 2, to train the first model", c.Warmup)
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"model period", c.ModelPeriod}, {"summary period", c.SummaryPeriod}, {"input reservoir", c.InputReservoir},
		{"score reservoir", c.ScoreReservoir}, {"outlier item counter", c.OutlierItems}, {"inlier item counter", c.InlierItems}} {
		if v.n < 1 {
			return fmt.Errorf("classic: %s of %d: want at least 1", v.name, v.n)
		}
	}
	if c.Metrics > 1 {
		if h := int(math.Floor(float64(c.InputReservoir+c.Metrics+1) * mcdAlpha(c.MCD))); h <= c.Metrics || h >= c.InputReservoir {
			return fmt.Errorf("classic: an input reservoir of %d rows is too small for MCD on %d metrics", c.InputReservoir, c.Metrics)
		}
	}
	return nil
}

func mcdAlpha(m explain.MCD) float64 {
	if m.Alpha == 0 {
		return 0.5
	}
	return m.Alpha
}

// datum is an encoded row: its attribute codes and its metrics, or after
// scoring, its score's magnitude.
type datum struct {
	attrs   []int32
	metrics []float64
	norm    float64
}

// scorer is MacroBase's BatchTrainScore: MAD for one metric, MCD for more.
type scorer interface {
	train(sample []*datum) error
	score(d *datum) float64
}

type madScorer struct{ median, mad float64 }

func (m *madScorer) train(sample []*datum) error {
	v := make([]float64, len(sample))
	for i, d := range sample {
		v[i] = d.metrics[0]
	}
	if len(v) == 0 {
		return fmt.Errorf("classic: MAD: no rows to train on")
	}
	m.median, m.mad = explain.FitMAD(v)
	return nil
}

func (m *madScorer) score(d *datum) float64 { return math.Abs(d.metrics[0]-m.median) / m.mad }

type mcdScorer struct {
	cfg explain.MCD
	rnd *javarand.Random
	g   *explain.Gaussian
}

func (m *mcdScorer) train(sample []*datum) error {
	pts := make([][]float64, len(sample))
	for i, d := range sample {
		pts[i] = d.metrics
	}
	g, err := m.cfg.Fit(pts, m.rnd)
	if err != nil {
		return err
	}
	m.g = g
	return nil
}

func (m *mcdScorer) score(d *datum) float64 { return m.g.Distance(d.metrics) }

// Pipeline is MacroBase's classic one-shot exponentially weighted
// streaming pipeline (BasicOneShotEWStreamingPipeline): a feature
// transform scoring each row by MAD or MCD, retrained periodically on a
// damped reservoir of the input; a classifier marking a row an outlier
// when its score is above the target percentile of a damped reservoir of
// scores; and the exponentially decaying emerging-itemsets summarizer.
//
// It reproduces MacroBase's behaviour, including details a reader might
// not expect: the score threshold is set from the score reservoir once, at
// the end of the warm-up, and not updated afterwards (MacroBase only runs
// its updater during warm-up; Config.RefreshThreshold changes that); the
// warm-up rows are classified by the score of the row that ends the
// warm-up, not by their own; support is an item's count over the outlier
// counter's total of item observations (rows × attributes), not over
// outlier rows; single items are kept when their corrected risk ratio
// exceeds MinRatio, combinations when it reaches it; the two itemset trees
// share one map of frequent-item counts, so inlier transactions raise the
// counts the outlier tree orders its items by; and the trees' counts of a
// combination are truncated to integers as they are summed. Item codes are
// handed out in order of first appearance, as MacroBase's encoder does,
// and maps iterate in java.util.HashMap's order, so ties break alike.
type Pipeline struct {
	cfg  Config
	enc  []map[string]int32 // per attribute: value → code
	dec  [][2]int           // code → (attribute, index into vals)
	vals []string

	// transform
	input      *reservoir[*datum]
	scorer     scorer
	tWarm      []*datum
	tRows      int
	retrainer  periodic
	inputDecay periodic
	trainErr   error

	// classifier
	scores    *reservoir[*datum]
	cWarm     []*datum
	cRows     int
	threshold float64
	sDecay    periodic
	sUpdate   periodic

	// summarizer
	items   *emergingItemsets
	summary periodic

	rows int64
}

// New returns a pipeline.
func New(cfg Config) (*Pipeline, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	p := &Pipeline{cfg: cfg, enc: make([]map[string]int32, len(cfg.Attrs))}
	for i := range p.enc {
		p.enc[i] = map[string]int32{}
	}
	// MacroBase hands each component its own new Random(seed).
	if cfg.Metrics == 1 {
		p.scorer = &madScorer{}
	} else {
		p.scorer = &mcdScorer{cfg: cfg.MCD, rnd: javarand.New(cfg.Seed)}
	}
	p.input = newReservoir[*datum](cfg.InputReservoir, cfg.DecayRate, cfg.Seed)
	p.retrainer = periodic{period: float64(cfg.ModelPeriod), task: func() {
		if err := p.scorer.train(p.input.sample()); err != nil && p.trainErr == nil {
			p.trainErr = err
		}
	}}
	p.inputDecay = periodic{period: float64(cfg.ModelPeriod), task: p.input.advancePeriod}
	p.scores = newReservoir[*datum](cfg.ScoreReservoir, cfg.DecayRate, cfg.Seed)
	p.sDecay = periodic{period: float64(cfg.SummaryPeriod), task: p.scores.advancePeriod}
	p.sUpdate = periodic{period: float64(cfg.SummaryPeriod), task: p.updateThreshold}
	p.items = newEmergingItemsets(cfg.InlierItems, cfg.OutlierItems, cfg.MinSupport, cfg.MinRatio, cfg.DecayRate, len(cfg.Attrs), !cfg.NoCombinations)
	p.summary = periodic{period: float64(cfg.SummaryPeriod), task: p.items.markPeriod}
	return p, nil
}

// Rows is the number of rows observed.
func (p *Pipeline) Rows() int64 { return p.rows }

// Observe consumes one row: attribute values in Config.Attrs order ("" is
// a value like any other) and Config.Metrics metrics. A row with a NaN or
// infinite metric is skipped, as MacroBase's loader skips a row whose
// metric does not parse. It returns an error only when the scorer cannot
// be trained (e.g. MCD on a reservoir of identical rows).
func (p *Pipeline) Observe(values []string, metrics []float64) error {
	if len(metrics) != p.cfg.Metrics {
		return fmt.Errorf("classic: %d metrics, want %d", len(metrics), p.cfg.Metrics)
	}
	for _, m := range metrics {
		if math.IsNaN(m) || math.IsInf(m, 0) {
			return nil
		}
	}
	p.rows++
	d := &datum{attrs: make([]int32, len(p.cfg.Attrs)), metrics: slices.Clone(metrics)}
	for i := range p.cfg.Attrs {
		v := ""
		if i < len(values) {
			v = values[i]
		}
		code, ok := p.enc[i][v]
		if !ok {
			code = int32(len(p.vals))
			p.enc[i][v] = code
			p.dec = append(p.dec, [2]int{i, len(p.vals)})
			p.vals = append(p.vals, v)
		}
		d.attrs[i] = code
	}
	if p.cfg.LowMetric {
		for i, m := range d.metrics {
			d.metrics[i] = 1 / math.Max(m, 0.1)
		}
	}
	for _, s := range p.transform(d) {
		for _, c := range p.classify(s) {
			p.summarize(c)
		}
	}
	return p.trainErr
}

// ObserveRow is Observe for stream.Run: it returns an explanation every
// Config.Period rows.
func (p *Pipeline) ObserveRow(r stream.Row) (*explain.Result, error) {
	before := p.rows
	if err := p.Observe(r.Values, r.Metrics); err != nil {
		return nil, err
	}
	if p.cfg.Period > 0 && p.rows != before && p.rows%int64(p.cfg.Period) == 0 {
		return p.Explain(), nil
	}
	return nil, nil
}

// transform is EWFeatureTransform: it holds rows until the warm-up ends,
// then scores them with the model trained on the input reservoir.
func (p *Pipeline) transform(d *datum) []*datum {
	p.tRows++
	if p.tRows < p.cfg.Warmup {
		p.tWarm = append(p.tWarm, d)
		p.input.add(d)
		p.retrainer.tick()
		p.inputDecay.tick()
		return nil
	}
	var out []*datum
	if p.tRows == p.cfg.Warmup {
		if err := p.scorer.train(p.input.sample()); err != nil && p.trainErr == nil {
			p.trainErr = err
		}
		for _, w := range p.tWarm {
			out = append(out, p.scored(w))
		}
		p.tWarm = nil
	}
	p.retrainer.tick()
	p.inputDecay.tick()
	p.input.add(d)
	return append(out, p.scored(d))
}

func (p *Pipeline) scored(d *datum) *datum {
	if p.trainErr != nil {
		return &datum{attrs: d.attrs, norm: math.NaN()}
	}
	return &datum{attrs: d.attrs, norm: math.Abs(p.scorer.score(d))}
}

type classified struct {
	d       *datum
	outlier bool
}

// classify is EWAppxPercentileOutlierClassifier.
func (p *Pipeline) classify(d *datum) []classified {
	p.cRows++
	if p.cRows < p.cfg.Warmup {
		p.cWarm = append(p.cWarm, d)
		p.scores.add(d)
		p.sDecay.tick()
		p.sUpdate.tick()
		return nil
	}
	var out []classified
	if p.cRows == p.cfg.Warmup {
		p.updateThreshold()
		for _, w := range p.cWarm {
			if p.cfg.RefreshThreshold {
				out = append(out, classified{w, w.norm > p.threshold})
			} else {
				out = append(out, classified{w, d.norm > p.threshold}) // sic: d, as MacroBase
			}
		}
		p.cWarm = nil
	}
	p.scores.add(d)
	if p.cfg.RefreshThreshold {
		p.sDecay.tick()
		p.sUpdate.tick()
	}
	return append(out, classified{d, d.norm > p.threshold})
}

// updateThreshold sorts the score reservoir in place (as MacroBase does)
// and takes its Percentile-th element.
func (p *Pipeline) updateThreshold() {
	s := p.scores.sample()
	if len(s) == 0 {
		return
	}
	sort.SliceStable(s, func(i, j int) bool { return javaLess(s[i].norm, s[j].norm) })
	p.threshold = s[int(p.cfg.Percentile*float64(len(s)))].norm
}

// javaLess orders doubles as Double.compareTo does: NaN last.
func javaLess(a, b float64) bool {
	if math.IsNaN(a) {
		return false
	}
	return math.IsNaN(b) || a < b
}

// summarize is EWStreamingSummarizer.consume.
func (p *Pipeline) summarize(c classified) {
	p.summary.tick()
	if c.outlier {
		p.items.markOutlier(c.d.attrs)
	} else {
		p.items.markInlier(c.d.attrs)
	}
}

// Explain returns the current itemsets in MacroBase's order (by outlier
// count, larger combinations first among equals). Each explanation's
// Ratio is MacroBase's corrected risk ratio, its Support the outlier
// count over the outlier counter's total, TotalCount the outlier count
// plus the inlier count the inlier summaries hold. Outliers and Total
// count rows classified so far (warm-up rows are classified when it ends).
func (p *Pipeline) Explain() *explain.Result {
	r := &explain.Result{Attributes: p.cfg.Attrs, Metric: explain.RiskRatio,
		Outliers: p.items.outliers, Total: p.items.outliers + p.items.inliers}
	for _, is := range p.items.itemsets() {
		if p.cfg.MaxOrder > 0 && len(is.items) > p.cfg.MaxOrder {
			continue
		}
		e := explain.Explanation{Values: make([]string, len(p.cfg.Attrs)), Order: len(is.items),
			Support: is.support, Ratio: is.ratio, OutlierCount: is.records, TotalCount: is.records + is.inlierRecords}
		for _, code := range is.items {
			a := p.dec[code]
			e.Values[a[0]] = p.vals[a[1]]
		}
		r.Explanations = append(r.Explanations, e)
	}
	return r
}
