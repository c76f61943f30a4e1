package video

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dawn-ml/dawn/cascade"
	"github.com/dawn-ml/dawn/video/haar"
)

// QueryOptions configure Run.
type QueryOptions struct {
	Accuracy float64 // selection target agreement with the reference; default 0.95
	Seed     uint64
	// Train is the number of frames labelled by the reference to train the
	// specialized model (default 10 % of the frames, 5 % for a limit
	// query, 40 to 400); their
	// out-of-fold scores calibrate it. Training calls count in the answer's
	// reference calls and speedup.
	Train int
	// Confidence is the selection planner's (default 0.9): the
	// Clopper–Pearson upper bound at this confidence on the cheap
	// answers' disagreements, from a random sample of labelled frames,
	// must stay within the target.
	Confidence float64
	// Diff lets the optimizer use a difference detector (reuse the last
	// evaluated frame's answer when the frame barely changed), with
	// thresholds chosen on the training frames by cascade.OptimizeConfident.
	// Off by default: on the vtest clip it costs 3–13 points of agreement.
	Diff bool
	// Cascade, when set, is a saved cascade: its specialized model (and,
	// for a selection with the same predicate, its calibration) is used
	// and nothing is retrained, so the query pays no training calls.
	Cascade *SavedCascade
}

// Answer is a query's result.
type Answer struct {
	Kind string `json:"kind"`
	// Answer: the number of frames selected (Select), the estimate
	// (Aggregate) or the frames found (Limit).
	Answer         any     `json:"answer"`
	FramesSelected []int   `json:"frames_selected,omitempty"`
	CILow          float64 `json:"ci_low,omitempty"`
	CIHigh         float64 `json:"ci_high,omitempty"`
	ReferenceCalls int     `json:"reference_calls"`
	TrainingCalls  int     `json:"training_calls"`
	Frames         int     `json:"frames"`
	// Seconds is the query's time after decoding: its own work plus every
	// reference call at the reference's cost (a cached answer is charged
	// as if computed, so a warm cache does not flatter the speedup).
	Seconds float64 `json:"seconds"`
	// Speedup is Frames × the reference's cost per frame / Seconds.
	Speedup          float64 `json:"speedup"`
	ReferenceSeconds float64 `json:"reference_seconds_per_frame"`
	CheapSeconds     float64 `json:"cheap_seconds_per_frame"`
	// PlainSamplingCalls (Aggregate) is what a simple random sample needs
	// for the same interval width, from the sample's own standard
	// deviation.
	PlainSamplingCalls int           `json:"plain_sampling_calls,omitempty"`
	Selection          *SelectPlan   `json:"selection_plan,omitempty"`
	Plan               *cascade.Plan `json:"diff_plan,omitempty"`
	Model              string        `json:"model"`
	// Candidates are the specialized models the optimizer weighed, with
	// what each would cost.
	Candidates []Candidate `json:"candidates,omitempty"`
	// Cascade is what Save writes: the chosen model and plan.
	Cascade *SavedCascade `json:"-"`
}

// Candidate is one specialized model the optimizer considered.
type Candidate struct {
	Model string  `json:"model"`
	CVMSE float64 `json:"heldout_mse"`
	// ExpectedCalls (selections) is training plus planned reference calls.
	ExpectedCalls int  `json:"expected_reference_calls,omitempty"`
	Chosen        bool `json:"chosen"`
}

// smoothings are the candidate prediction windows (± frames).
var smoothings = []int{0, 2}

// Run answers q over the store's frames.
func Run(ctx context.Context, s *Store, ref Reference, q *Query, opt QueryOptions) (*Answer, error) {
	t0 := time.Now()
	if opt.Accuracy == 0 {
		opt.Accuracy = q.Accuracy
	}
	if opt.Accuracy == 0 {
		opt.Accuracy = 0.95
	}
	if opt.Confidence == 0 {
		opt.Confidence = 0.9
	}
	if opt.Accuracy <= 0 || opt.Accuracy >= 1 || opt.Confidence <= 0 || opt.Confidence >= 1 {
		return nil, fmt.Errorf("video: accuracy %v and confidence %v must be between 0 and 1", opt.Accuracy, opt.Confidence)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0xf4a3e))
	cnt := &counter{ref: ref, store: s, known: map[int]int{}}
	a := &Answer{Kind: q.Kind, Frames: s.N}
	refCost := func() float64 {
		c := ref.Cost()
		if c <= 0 && cnt.calls > 0 {
			c = cnt.spent.Seconds() / float64(cnt.calls)
		}
		return c
	}

	var (
		m     *Specialized
		pred  []float64
		train []int
		calib *Calibration
		held  calSample
	)
	if sc := opt.Cascade; sc != nil {
		if err := sc.apply(s); err != nil {
			return nil, err
		}
		m = sc.Model
		t1 := time.Now()
		var err error
		if pred, err = m.Predict(s); err != nil {
			return nil, err
		}
		a.CheapSeconds = time.Since(t1).Seconds() / float64(s.N)
		if q.Kind == Select {
			if sc.Selection == nil || sc.Predicate != predicateOf(q) {
				return nil, fmt.Errorf("video: the cascade was built for %q, not %q: its calibration does not apply (build one for this predicate, or run without --cascade)", sc.Predicate, predicateOf(q))
			}
			calib = &sc.Selection.Calibration
		}
		a.Model = m.String() + " (from a saved cascade)"
	} else {
		if opt.Train == 0 {
			// A limit query needs only the model's order, and stops early:
			// half the training frames serve it.
			share := 10
			if q.Kind == Limit {
				share = 20
			}
			opt.Train = min(max(s.N/share, 40), 400, s.N/2)
		}
		if opt.Train < 10 || opt.Train > s.N {
			return nil, fmt.Errorf("video: %d frames are too few to train on %d (at least 10, at most all)", s.N, opt.Train)
		}
		// Training frames: evenly spaced with a random phase.
		train = spaced(s.N, opt.Train, rng.Float64())
		ys := make([]float64, len(train))
		for k, i := range train {
			v, err := cnt.count(ctx, i)
			if err != nil {
				return nil, err
			}
			ys[k] = float64(v)
		}
		var err error
		if m, pred, calib, held, err = choose(s, q, opt, train, ys, cnt, refCost(), a); err != nil {
			return nil, err
		}
		a.Model = m.String()
	}
	a.TrainingCalls = cnt.calls
	inTrain := make([]bool, s.N)
	for _, i := range train {
		inTrain[i] = true
	}
	var err error
	switch q.Kind {
	case Select:
		if opt.Diff && opt.Cascade == nil {
			err = runSelectDiff(ctx, s, cnt, q, opt, pred, train, m, a, refCost())
		} else {
			err = runSelect(ctx, cnt, q, opt, pred, *calib, held, len(train), refCost(), rng, a)
		}
	case Aggregate:
		err = runAggregate(ctx, s, cnt, q, pred, inTrain, rng, a)
	case Limit:
		err = runLimit(ctx, s, cnt, q, pred, train, a)
	default:
		err = fmt.Errorf("video: unknown query kind %q", q.Kind)
	}
	if err != nil {
		return nil, err
	}
	cost := refCost()
	own := time.Since(t0) - cnt.spent
	a.ReferenceCalls = cnt.calls
	a.ReferenceSeconds = cost
	a.Seconds = own.Seconds() + float64(cnt.calls)*cost
	if a.Seconds > 0 {
		a.Speedup = float64(s.N) * cost / a.Seconds
	}
	a.Cascade = &SavedCascade{Model: m, Predicate: predicateOf(q), SmallW: s.SW, SmallH: s.SH, Background: s.background,
		TrainingFrames: len(train), Reference: ref.Describe()}
	if opt.Cascade != nil {
		a.Cascade.TrainingFrames = opt.Cascade.TrainingFrames
	}
	if a.Selection != nil {
		a.Cascade.Selection = a.Selection
	}
	return a, nil
}

// predicateOf is the query's predicate as text ("count(person) >= 6").
func predicateOf(q *Query) string {
	if q.Op == "" {
		return ""
	}
	return fmt.Sprintf("count(%s) %s %d", q.Object, q.Op, q.Value)
}

// choose fits every candidate specialized model on the training frames and
// picks the cheapest by measured costs: for a selection, the fewest
// expected seconds (training and planned reference calls at the
// reference's cost plus the cheap model on every frame) under the
// accuracy target; for aggregates and limits, the lowest held-out squared
// error (a control variate's variance and a scan's order both improve
// with it).
func choose(s *Store, q *Query, opt QueryOptions, train []int, ys []float64, cnt *counter, refCost float64, a *Answer) (*Specialized, []float64, *Calibration, calSample, error) {
	var (
		best      *Specialized
		bestPred  []float64
		bestCal   *Calibration
		bestHeld  calSample
		bestScore = math.Inf(1)
		bestIdx   = -1
	)
	known := make([]bool, s.N)
	for _, i := range train {
		known[i] = true
	}
	labels := make([]bool, len(train))
	for k, y := range ys {
		labels[k] = q.Holds(int(y))
	}
	for _, fs := range featureSets {
		t1 := time.Now()
		fit, err := fitSpecialized(s, fs, train, ys)
		if err != nil {
			return nil, nil, nil, calSample{}, err
		}
		raw, err := fit.rawPredict(s)
		if err != nil {
			return nil, nil, nil, calSample{}, err
		}
		cheap := time.Since(t1).Seconds() / float64(s.N)
		for _, k := range smoothings {
			m := *fit
			m.Smooth = k
			held, err := m.heldout(s, train)
			if err != nil {
				return nil, nil, nil, calSample{}, err
			}
			var mse float64
			for j, h := range held {
				mse += (h - ys[j]) * (h - ys[j])
			}
			mse /= float64(len(held))
			c := Candidate{Model: m.String(), CVMSE: mse}
			sc := mse
			var cal *Calibration
			var zs []float64
			pred := smooth(raw, k)
			if q.Kind == Select {
				zs = make([]float64, len(held))
				for j, h := range held {
					p := min(max(score(q, h), 1e-12), 1-1e-12)
					zs[j] = math.Log(p / (1 - p))
				}
				cl := platt(zs, labels)
				cal = &cl
				p := make([]float64, s.N)
				for i := range p {
					p[i] = cl.prob(q, pred[i])
				}
				_, _, _, _, _, nsend := planSelect(p, known, calSample{zs: zs, ys: labels}, cl, opt.Accuracy, opt.Confidence)
				c.ExpectedCalls = nsend + len(train)
				sc = float64(c.ExpectedCalls)*refCost + float64(s.N)*cheap
			}
			a.Candidates = append(a.Candidates, c)
			if sc < bestScore {
				mm := m
				best, bestPred, bestCal, bestScore, bestIdx = &mm, pred, cal, sc, len(a.Candidates)-1
				bestHeld = calSample{zs: zs, ys: labels}
			}
		}
	}
	a.Candidates[bestIdx].Chosen = true
	t1 := time.Now()
	if _, err := best.rawPredict(s); err != nil { // timed alone: the chosen model's cost
		return nil, nil, nil, calSample{}, err
	}
	a.CheapSeconds = time.Since(t1).Seconds() / float64(s.N)
	return best, bestPred, bestCal, bestHeld, nil
}

// calSample is what a calibration is fitted on: score logits and whether
// the predicate held.
type calSample struct {
	zs []float64
	ys []bool
}

func logit(p float64) float64 {
	p = min(max(p, 1e-12), 1-1e-12)
	return math.Log(p / (1 - p))
}

// Audit parameters of a selection: rounds of auditFrames frames.
const (
	auditFrames = 40
	auditRounds = 5
)

// runSelect answers a selection with the bounded plan (planSelect): frames
// the plan sends go to the reference, the rest take the cheap model's
// answer.
//
// The plan's bound rests on a sample of labelled frames: at first the
// training frames (evenly spaced, with their out-of-fold scores). Rounds
// of auditFrames frames drawn at random from the frames not yet answered
// add to it (a frame the plan sends anyway costs nothing extra); after
// each the calibration is refitted on the whole sample and the plan
// redone. The first round always runs; another runs, up to auditRounds,
// while the last one let the plan answer cheaply more frames than it
// cost. Audited frames are answered by the reference, and their calls
// count.
func runSelect(ctx context.Context, cnt *counter, q *Query, opt QueryOptions, pred []float64, cal Calibration, held calSample, nTrain int, refCost float64, rng *rand.Rand, a *Answer) error {
	n := len(pred)
	p := make([]float64, n)
	known := make([]bool, n)
	var (
		send                  []bool
		low, high, exp, bound float64
		nsend, audited        int
		sample                = calSample{zs: append([]float64(nil), held.zs...), ys: append([]bool(nil), held.ys...)}
	)
	plan := func() int {
		for i := range p {
			p[i] = cal.prob(q, pred[i])
			_, known[i] = cnt.known[i]
		}
		send, low, high, exp, bound, nsend = planSelect(p, known, sample, cal, opt.Accuracy, opt.Confidence)
		cheap := 0
		for i := range p {
			if !known[i] && !send[i] {
				cheap++
			}
		}
		return cheap
	}
	cheap := plan()
	for round := 0; round < auditRounds; round++ {
		var pool []int
		for i := range p {
			if !known[i] {
				pool = append(pool, i)
			}
		}
		if len(pool) == 0 {
			break
		}
		rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
		pool = pool[:min(auditFrames, len(pool))]
		cost := 0 // audited frames the plan would have answered cheaply
		for _, i := range pool {
			v, err := cnt.count(ctx, i)
			if err != nil {
				return err
			}
			audited++
			if !send[i] {
				cost++
			}
			sample.zs = append(sample.zs, logit(score(q, pred[i])))
			sample.ys = append(sample.ys, q.Holds(v))
		}
		cal = platt(sample.zs, sample.ys)
		before := cheap - cost
		cheap = plan()
		if round > 0 && cheap-before <= cost {
			break
		}
	}
	a.Selection = &SelectPlan{Calibration: cal, Low: low, High: high, ExpectedAgreement: exp,
		AgreementBound: 1 - bound/float64(n), Sample: len(sample.zs), ReferenceFrames: nsend,
		TrainingFrames: nTrain, AuditedFrames: audited, ExpectedCalls: nsend + nTrain + audited,
		ExpectedSeconds: float64(nsend+nTrain+audited)*refCost + float64(n)*a.CheapSeconds}
	for i := 0; i < n; i++ {
		var yes bool
		if v, ok := cnt.known[i]; ok {
			yes = q.Holds(v)
		} else if send[i] {
			v, err := cnt.count(ctx, i)
			if err != nil {
				return err
			}
			yes = q.Holds(v)
		} else {
			yes = p[i] >= 0.5
		}
		if yes {
			a.FramesSelected = append(a.FramesSelected, i)
		}
	}
	a.Answer = len(a.FramesSelected)
	return nil
}

// runSelectDiff is the selection with a difference detector: the cascade
// package's optimizer picks the two thresholds and the skip threshold on
// the training frames' out-of-fold scores (Wilson bound at Confidence).
func runSelectDiff(ctx context.Context, s *Store, cnt *counter, q *Query, opt QueryOptions, pred []float64, train []int, m *Specialized, a *Answer, refCost float64) error {
	held, err := m.heldout(s, train)
	if err != nil {
		return err
	}
	h := &cascade.Heldout{Binary: true}
	for k, i := range train {
		h.Score = append(h.Score, score(q, held[k]))
		h.Ref = append(h.Ref, boolInt(q.Holds(cnt.known[i])))
		d := 0.0
		if k > 0 {
			d = s.dist(train[k-1], i)
		}
		h.Dist = append(h.Dist, d)
	}
	costs := cascade.Costs{Cheap: a.CheapSeconds, Reference: refCost, Diff: a.CheapSeconds}
	plan, err := cascade.OptimizeConfident(h, costs, opt.Accuracy, opt.Confidence)
	if err != nil {
		// No thresholds meet the target on the sample: every frame goes to
		// the reference.
		plan = &cascade.Plan{Low: cascade.NoLow, High: cascade.NoHigh}
		cascade.Evaluate(h, costs, plan)
	}
	a.Plan = plan
	// A frame close enough to the last frame actually evaluated (by the
	// cheap model or the reference) reuses that frame's answer; comparing
	// with the last evaluated frame, not the previous one, keeps slow
	// changes from drifting through a chain of reuses.
	last, lastEval := -1, -1
	for i := 0; i < s.N; i++ {
		var yes bool
		if v, ok := cnt.known[i]; ok {
			yes = q.Holds(v)
			lastEval = i
		} else if plan.DiffThreshold > 0 && lastEval >= 0 && s.dist(lastEval, i) < plan.DiffThreshold {
			yes = last == 1
		} else {
			lastEval = i
			sc := score(q, pred[i])
			switch {
			case sc <= plan.Low:
				yes = false
			case sc >= plan.High:
				yes = true
			default:
				v, err := cnt.count(ctx, i)
				if err != nil {
					return err
				}
				yes = q.Holds(v)
			}
		}
		last = boolInt(yes)
		if yes {
			a.FramesSelected = append(a.FramesSelected, i)
		}
	}
	a.Answer = len(a.FramesSelected)
	return nil
}

// minCVSample is the sample size before the aggregate's interval is
// trusted (the normal approximation and the estimated coefficient).
const minCVSample = 30

// runAggregate estimates the mean count over all frames. The training
// frames' counts are known exactly; the other frames (the pool) are drawn
// at random without replacement and their mean estimated with the
// specialized model's prediction as a control variate (its mean over the
// whole pool is known), until the half-width over all frames is within
// the query's error. The overall mean is (Σ training counts + N_pool ·
// pool estimate) / N, its half-width N_pool/N times the pool's.
func runAggregate(ctx context.Context, s *Store, cnt *counter, q *Query, pred []float64, inTrain []bool, rng *rand.Rand, a *Answer) error {
	var pool []int
	var sumTrain float64
	for i := 0; i < s.N; i++ {
		if inTrain[i] {
			sumTrain += float64(cnt.known[i])
		} else {
			pool = append(pool, i)
		}
	}
	rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	var mux float64
	for _, i := range pool {
		mux += pred[i]
	}
	Np, N := float64(len(pool)), float64(s.N)
	mux /= Np
	z := distuv.UnitNormal.Quantile(1 - (1-q.Confidence)/2)
	var xs, ys []float64
	var est, half, sdY float64
	overall := func() {
		e, h, sd := controlVariate(xs, ys, mux, Np, z)
		est, half, sdY = (sumTrain+Np*e)/N, h*Np/N, sd
	}
	for _, i := range pool {
		v, err := cnt.count(ctx, i)
		if err != nil {
			return err
		}
		xs, ys = append(xs, pred[i]), append(ys, float64(v))
		if len(ys) < minCVSample {
			continue
		}
		overall()
		if half <= q.ErrorWithin {
			break
		}
	}
	if len(ys) < minCVSample { // the whole pool was read: the mean is exact
		overall()
	}
	// Frames a simple random sample of all N frames would need for the
	// same half-width.
	n0 := math.Pow(z*sdY/q.ErrorWithin, 2)
	a.PlainSamplingCalls = int(math.Ceil(n0 / (1 + n0/N)))
	a.Answer, a.CILow, a.CIHigh = est, est-half, est+half
	return nil
}

// controlVariate is the mean of ys corrected by the control variate xs
// (whose population mean is mux), with its half-width at z, using the
// finite-population correction over N frames; it also returns sd(ys). The
// coefficient is the sample regression slope cov(x,y)/var(x), and the
// variance that of the regression residuals with n−2 degrees of freedom
// (one for the mean, one for the coefficient).
func controlVariate(xs, ys []float64, mux, N, z float64) (est, half, sdY float64) {
	n := float64(len(ys))
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= n
	my /= n
	var sxx, sxy, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	c := 0.0
	if sxx > 0 {
		c = sxy / sxx
	}
	est = my - c*(mx-mux)
	resid := (syy - 2*c*sxy + c*c*sxx) / max(n-2, 1)
	fpc := max(1-n/N, 0)
	half = z * math.Sqrt(max(resid, 0)/n*fpc)
	sdY = math.Sqrt(syy / max(n-1, 1))
	return est, half, sdY
}

// runLimit scans frames in decreasing order of the specialized model's
// score, calling the reference until LIMIT frames satisfy the predicate.
func runLimit(ctx context.Context, s *Store, cnt *counter, q *Query, pred []float64, train []int, a *Answer) error {
	// Training frames that already satisfy the predicate count first.
	for _, i := range train {
		if q.Holds(cnt.known[i]) && len(a.FramesSelected) < q.N {
			a.FramesSelected = append(a.FramesSelected, i)
		}
	}
	order := make([]int, s.N)
	for i := range order {
		order[i] = i
	}
	sc := make([]float64, s.N)
	for i := range sc {
		sc[i] = score(q, pred[i])
	}
	sort.SliceStable(order, func(x, y int) bool { return sc[order[x]] > sc[order[y]] })
	for _, i := range order {
		if len(a.FramesSelected) >= q.N {
			break
		}
		if _, ok := cnt.known[i]; ok {
			continue
		}
		v, err := cnt.count(ctx, i)
		if err != nil {
			return err
		}
		if q.Holds(v) {
			a.FramesSelected = append(a.FramesSelected, i)
		}
	}
	slices.Sort(a.FramesSelected)
	a.Answer = a.FramesSelected
	return nil
}

// counter wraps a reference, remembering answers and counting calls.
type counter struct {
	ref   Reference
	store *Store
	known map[int]int
	calls int
	spent time.Duration // wall time inside the reference
}

func (c *counter) count(ctx context.Context, i int) (int, error) {
	if v, ok := c.known[i]; ok {
		return v, nil
	}
	var f *haar.Gray
	if c.ref.NeedsFrames() {
		var err error
		if f, err = c.store.Frame(i); err != nil {
			return 0, err
		}
	}
	t0 := time.Now()
	v, err := c.ref.Count(ctx, i, f)
	c.spent += time.Since(t0)
	if err != nil {
		return 0, err
	}
	c.known[i] = v
	c.calls++
	return v, nil
}
