package video

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// featureSet is one input representation a specialized model may read.
type featureSet struct {
	name string
	// fn appends frame i's features to dst[:0].
	fn func(s *Store, i int, dst []float64) []float64
}

// featureSets are the candidate representations; the optimizer picks one.
var featureSets = []featureSet{
	{"background", func(s *Store, i int, dst []float64) []float64 { return s.features(i, dst) }},
	{"background+fg4", func(s *Store, i int, dst []float64) []float64 {
		return s.fgCells(i, 4, s.features(i, dst))
	}},
}

func featureSetNamed(name string) (featureSet, bool) {
	for _, f := range featureSets {
		if f.name == name {
			return f, true
		}
	}
	return featureSet{}, false
}

// fgCells appends the foreground share (pixels differing from the
// background by more than fgThreshold) of each cell×cell cell.
func (s *Store) fgCells(i, cell int, dst []float64) []float64 {
	if s.background == nil {
		s.computeBackground()
	}
	px := s.smallFrame(i)
	for cy := 0; cy < s.SH/cell; cy++ {
		for cx := 0; cx < s.SW/cell; cx++ {
			n := 0
			for y := cy * cell; y < (cy+1)*cell; y++ {
				for x := cx * cell; x < (cx+1)*cell; x++ {
					d := int(px[y*s.SW+x]) - int(s.background[y*s.SW+x])
					if d > fgThreshold || d < -fgThreshold {
						n++
					}
				}
			}
			dst = append(dst, float64(n)/float64(cell*cell))
		}
	}
	return dst
}

// Specialized is a specialized model: ridge regression of the object count
// on one feature set of the small frame, its predictions optionally
// averaged over the Smooth frames either side (people move little in a
// tenth of a second; averaging cancels some of the model's own noise).
type Specialized struct {
	Features string    `json:"features"`
	Weights  []float64 `json:"weights"` // one per feature, then the bias
	Lambda   float64   `json:"lambda"`
	Smooth   int       `json:"smooth"`
	// CVError is the 5-fold cross-validated mean squared error of the
	// count on the training frames (before smoothing).
	CVError float64 `json:"cv_mse"`

	oof   []float64   // out-of-fold predictions of the training frames
	folds [][]float64 // the cross-validation's weights, fold k%5 without frame k
}

func (m *Specialized) String() string {
	sm := ""
	if m.Smooth > 0 {
		sm = fmt.Sprintf(", averaged over ±%d frames", m.Smooth)
	}
	return fmt.Sprintf("ridge regression on %d %s features, lambda %g%s", len(m.Weights)-1, m.Features, m.Lambda, sm)
}

func dotBias(w, x []float64) float64 {
	v := w[len(x)]
	for i, f := range x {
		v += w[i] * f
	}
	return v
}

// rawPredict is the unsmoothed prediction of every frame.
func (m *Specialized) rawPredict(s *Store) ([]float64, error) {
	fs, ok := featureSetNamed(m.Features)
	if !ok {
		return nil, fmt.Errorf("video: unknown feature set %q", m.Features)
	}
	out := make([]float64, s.N)
	var x []float64
	for i := range out {
		x = fs.fn(s, i, x)
		if len(x)+1 != len(m.Weights) {
			return nil, fmt.Errorf("video: the specialized model has %d weights for %d %s features (was it trained on frames of another size?)", len(m.Weights), len(x), m.Features)
		}
		out[i] = dotBias(m.Weights, x)
	}
	return out, nil
}

// smooth averages p over ±k frames.
func smooth(p []float64, k int) []float64 {
	if k == 0 {
		return p
	}
	out := make([]float64, len(p))
	for i := range p {
		var s float64
		n := 0
		for j := max(i-k, 0); j <= min(i+k, len(p)-1); j++ {
			s += p[j]
			n++
		}
		out[i] = s / float64(n)
	}
	return out
}

// Predict is the model's count for every frame of s.
func (m *Specialized) Predict(s *Store) ([]float64, error) {
	p, err := m.rawPredict(s)
	if err != nil {
		return nil, err
	}
	return smooth(p, m.Smooth), nil
}

// heldout is the training frames' out-of-fold predictions under
// smoothing: a training frame's own prediction and its neighbours' all
// come from the fold's model, the one fitted without that frame. (The
// model fitted on every training frame has seen the frame's label, and
// its neighbours look like it: averaging their predictions in leaks the
// label and makes the held-out score look better than any frame's score
// off the training set.)
func (m *Specialized) heldout(s *Store, train []int) ([]float64, error) {
	fs, ok := featureSetNamed(m.Features)
	if !ok {
		return nil, fmt.Errorf("video: unknown feature set %q", m.Features)
	}
	out := make([]float64, len(train))
	var x []float64
	for k, i := range train {
		sum, n := m.oof[k], 1
		for j := max(i-m.Smooth, 0); j <= min(i+m.Smooth, s.N-1); j++ {
			if j != i {
				x = fs.fn(s, j, x)
				sum += dotBias(m.folds[k%len(m.folds)], x)
				n++
			}
		}
		out[k] = sum / float64(n)
	}
	return out, nil
}

// ridgeLambdas are the candidate penalties, chosen by cross-validation.
var ridgeLambdas = []float64{0.01, 0.1, 1, 10, 100}

// fitSpecialized fits ridge regression of ys on the feature set over the
// training frames, λ by 5-fold cross-validation.
func fitSpecialized(s *Store, fs featureSet, frames []int, ys []float64) (*Specialized, error) {
	if len(frames) < 10 {
		return nil, fmt.Errorf("video: %d training frames are too few (at least 10)", len(frames))
	}
	xs := make([][]float64, len(frames))
	for k, i := range frames {
		xs[k] = fs.fn(s, i, nil)
	}
	best, bestErr := 0.0, math.Inf(1)
	var bestOOF []float64
	var bestFolds [][]float64
	for _, lambda := range ridgeLambdas {
		var sse float64
		oof := make([]float64, len(frames))
		folds := make([][]float64, 5)
		for f := 0; f < 5; f++ {
			var tr []int
			for k := range frames {
				if k%5 != f {
					tr = append(tr, k)
				}
			}
			w, err := ridge(xs, ys, tr, lambda)
			if err != nil {
				return nil, err
			}
			folds[f] = w
			for k := f; k < len(frames); k += 5 {
				oof[k] = dotBias(w, xs[k])
				e := oof[k] - ys[k]
				sse += e * e
			}
		}
		if sse < bestErr {
			best, bestErr, bestOOF, bestFolds = lambda, sse, oof, folds
		}
	}
	all := make([]int, len(frames))
	for k := range all {
		all[k] = k
	}
	w, err := ridge(xs, ys, all, best)
	if err != nil {
		return nil, err
	}
	return &Specialized{Features: fs.name, Weights: w, Lambda: best, CVError: bestErr / float64(len(frames)), oof: bestOOF, folds: bestFolds}, nil
}

// ridge solves (XᵀX + λI)w = Xᵀy over rows idx, with an unpenalised bias.
func ridge(xs [][]float64, ys []float64, idx []int, lambda float64) ([]float64, error) {
	d := len(xs[0]) + 1
	raw := make([]float64, d*d)
	xty := mat.NewVecDense(d, nil)
	x := make([]float64, d)
	for _, k := range idx {
		copy(x, xs[k])
		x[d-1] = 1
		for a := 0; a < d; a++ {
			xty.SetVec(a, xty.AtVec(a)+x[a]*ys[k])
			for b := a; b < d; b++ {
				raw[a*d+b] += x[a] * x[b]
			}
		}
	}
	xtx := mat.NewSymDense(d, nil)
	for a := 0; a < d; a++ {
		for b := a; b < d; b++ {
			v := raw[a*d+b]
			if a == b {
				if a != d-1 {
					v += lambda
				} else {
					v += 1e-9
				}
			}
			xtx.SetSym(a, b, v)
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(xtx) {
		return nil, errors.New("video: the specialized model's system is singular")
	}
	w := mat.NewVecDense(d, nil)
	if err := ch.SolveVecTo(w, xty); err != nil {
		return nil, err
	}
	return w.RawVector().Data, nil
}

// Calibration maps a predicted count to P(predicate holds) = σ(A·z + B),
// z = logit(score(q, pred)), fitted by Platt's method (logistic regression
// with his smoothed targets (n₊+1)/(n₊+2) and 1/(n₋+2), which keep a
// sample with few or no positives from promising certainty).
type Calibration struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

func (c Calibration) prob(q *Query, pred float64) float64 {
	sc := score(q, pred)
	sc = min(max(sc, 1e-12), 1-1e-12)
	return sigmoid(c.A*math.Log(sc/(1-sc)) + c.B)
}

// platt fits the calibration of scores zs (logits) to labels ys: Newton's
// method with a backtracking line search on the penalised log-loss, a
// Gaussian prior (sd 3) pulling A towards 1 and B towards 0 (the raw
// score), so a small or nearly separable sample cannot make the model
// look certain.
func platt(zs []float64, ys []bool) Calibration {
	var np, nn float64
	for _, y := range ys {
		if y {
			np++
		} else {
			nn++
		}
	}
	tp, tn := (np+1)/(np+2), 1/(nn+2)
	const prior = 1.0 / 9
	target := func(k int) float64 {
		if ys[k] {
			return tp
		}
		return tn
	}
	loss := func(a, b float64) float64 {
		l := prior / 2 * ((a-1)*(a-1) + b*b)
		for k, z := range zs {
			t, v := target(k), a*z+b
			// −[t log σ(v) + (1−t) log(1−σ(v))], stably.
			l += math.Log1p(math.Exp(-math.Abs(v))) + max(v, 0) - t*v
		}
		return l
	}
	a, b := 1.0, 0.0
	cur := loss(a, b)
	for it := 0; it < 100; it++ {
		var ga, gb, haa, hab, hbb float64
		for k, z := range zs {
			p := sigmoid(a*z + b)
			r := p - target(k)
			w := p * (1 - p)
			ga += r * z
			gb += r
			haa += w * z * z
			hab += w * z
			hbb += w
		}
		ga += prior * (a - 1)
		gb += prior * b
		haa += prior
		hbb += prior
		det := haa*hbb - hab*hab
		if det <= 0 {
			break
		}
		da := (hbb*ga - hab*gb) / det
		db := (haa*gb - hab*ga) / det
		step := 1.0
		for ; step > 1e-6; step /= 2 {
			if l := loss(a-step*da, b-step*db); l <= cur {
				a, b, cur = a-step*da, b-step*db, l
				break
			}
		}
		if step <= 1e-6 || step*(math.Abs(da)+math.Abs(db)) < 1e-10 {
			break
		}
	}
	return Calibration{A: a, B: b}
}

// SelectPlan is the cost-based optimizer's plan for a selection: frames
// whose calibrated probability is at most Low are answered no, at least
// High yes, the rest go to the reference.
type SelectPlan struct {
	Calibration Calibration `json:"calibration"`
	Low         float64     `json:"low"`
	High        float64     `json:"high"`
	// Planned on every frame of the video before any reference call:
	// ExpectedAgreement is what the calibration expects; AgreementBound
	// the lower bound the plan was held to (at the query's confidence),
	// from Sample labelled frames.
	ExpectedAgreement float64 `json:"expected_agreement"`
	AgreementBound    float64 `json:"agreement_bound"`
	Sample            int     `json:"bound_sample"`
	ReferenceFrames   int     `json:"planned_reference_frames"`
	TrainingFrames    int     `json:"training_frames"`
	// AuditedFrames are frames the plan would answer cheaply, sent to
	// the reference at random to check it (runSelect).
	AuditedFrames int `json:"audited_frames"`
	// ExpectedCalls is ReferenceFrames + TrainingFrames, what the plan
	// was chosen to minimize; ExpectedSeconds prices it with the measured
	// costs.
	ExpectedCalls   int     `json:"expected_reference_calls"`
	ExpectedSeconds float64 `json:"expected_seconds"`
}

// planSelect chooses which frames go to the reference, so that the
// disagreements with the reference stay within (1−target)·N with the given
// confidence without trusting the calibration. p is each frame's
// calibrated probability that the predicate holds, known marks frames the
// reference already answered (they are answered right), and sample holds
// labelled frames drawn evenly or at random from the video (the training
// frames with their out-of-fold scores, then audited frames).
//
// Frames are answered cheaply in order of increasing u = min(p, 1−p): the
// cheap set is the k unknown frames of lowest u, for the largest k whose
// bound k·r̂ stays within (1−target)·N, where r̂ is the Clopper–Pearson
// upper bound at confidence on the share of cheap answers that are wrong
// among the sample frames whose u is as low (a uniform sample of the cheap
// set). The bound assumes nothing of the calibration (only the order uses
// it) nor of how errors of neighbouring frames depend on each other: it
// estimates a share of a finite set of frames from a random sample of it.
// expAgree is what the calibration itself expects of the plan.
func planSelect(p []float64, known []bool, sample calSample, cal Calibration, target, confidence float64) (send []bool, low, high, expAgree, bound float64, nsend int) {
	n := len(p)
	budget := (1-target)*float64(n) + 1e-9 // (1−0.9)·20 is 1.9999999999999996
	u := func(pi float64) float64 { return min(pi, 1-pi) }
	var idx []int
	for i := range p {
		if !known[i] {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return u(p[idx[a]]) < u(p[idx[b]]) })
	type obs struct {
		u     float64
		wrong bool
	}
	obsv := make([]obs, len(sample.zs))
	for j, z := range sample.zs {
		pj := sigmoid(cal.A*z + cal.B)
		obsv[j] = obs{u(pj), (pj >= 0.5) != sample.ys[j]}
	}
	sort.Slice(obsv, func(a, b int) bool { return obsv[a].u < obsv[b].u })
	best := 0
	var bestBound float64
	m, w := 0, 0
	ub := 1.0
	for k := 1; k <= len(idx); k++ {
		t := u(p[idx[k-1]])
		grew := false
		for m < len(obsv) && obsv[m].u <= t {
			if obsv[m].wrong {
				w++
			}
			m++
			grew = true
		}
		if grew {
			ub = upperShare(w, m, confidence)
		}
		if b := float64(k) * ub; b <= budget {
			best, bestBound = k, b
		}
	}
	send = make([]bool, n)
	low, high = -1, 2
	var mean float64
	for k, i := range idx {
		if k >= best {
			send[i] = true
			nsend++
			continue
		}
		mean += u(p[i])
		if p[i] < 0.5 {
			low = max(low, p[i])
		} else {
			high = min(high, p[i])
		}
	}
	return send, low, high, 1 - mean/float64(n), bestBound, nsend
}

// upperShare is the one-sided Clopper–Pearson upper bound at confidence on
// a proportion observed as w of m (1 when m is 0).
func upperShare(w, m int, confidence float64) float64 {
	if w >= m {
		return 1
	}
	return distuv.Beta{Alpha: float64(w + 1), Beta: float64(m - w)}.Quantile(confidence)
}
