package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dawn-ml/dawn/cascade"
	"github.com/dawn-ml/dawn/video/haar"
)

// Reference counts the objects in a frame: the expensive model a query
// avoids calling.
type Reference interface {
	// Count returns the number of objects in frame i; frame is the full
	// frame when NeedsFrames, else nil.
	Count(ctx context.Context, i int, frame *haar.Gray) (int, error)
	NeedsFrames() bool
	// Cost is the seconds one call costs (measured or declared); it
	// prices calls answered from a cache.
	Cost() float64
}

// Store holds a video's frames for querying: every frame downsampled (the
// specialized model's input, small enough to keep), and, when the
// reference needs them, the full frames spooled to a temporary file.
type Store struct {
	N            int
	SW, SH       int
	small        []uint8 // N × SW·SH
	background   []uint8
	fullW, fullH int
	spool        *os.File
	DecodeTime   time.Duration
}

// maxFrames bounds a store (about 2.8 hours at 25 fps).
const maxFrames = 250_000

// Load reads every frame of src, keeping an sw×sh version of each and,
// when keepFull, spooling full frames into a temporary file in dir.
func Load(ctx context.Context, src Frames, sw, sh int, keepFull bool, dir string, progress func(int)) (*Store, error) {
	t0 := time.Now()
	s := &Store{SW: sw, SH: sh}
	for {
		if err := ctx.Err(); err != nil {
			s.Close()
			return nil, fmt.Errorf("video: load: %w", err)
		}
		g, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.Close()
			return nil, err
		}
		if s.N >= maxFrames {
			s.Close()
			return nil, fmt.Errorf("video: more than %d frames", maxFrames)
		}
		if s.N == 0 {
			s.fullW, s.fullH = g.W, g.H
			if keepFull {
				if s.spool, err = os.CreateTemp(dir, "dawn-frames-*.gray"); err != nil {
					return nil, fmt.Errorf("video: spool: %w", err)
				}
				os.Remove(s.spool.Name()) // unlinked: gone when closed
			}
		} else if g.W != s.fullW || g.H != s.fullH {
			s.Close()
			return nil, fmt.Errorf("video: frame %d is %d×%d, frame 0 was %d×%d", s.N, g.W, g.H, s.fullW, s.fullH)
		}
		sm := g
		if g.W != sw || g.H != sh {
			sm = haar.Resize(g, sw, sh)
		}
		s.small = append(s.small, sm.Pix...)
		if s.spool != nil {
			if _, err := s.spool.Write(g.Pix); err != nil {
				s.Close()
				return nil, fmt.Errorf("video: spool: %w", err)
			}
		}
		s.N++
		if progress != nil {
			progress(s.N)
		}
	}
	if s.N == 0 {
		return nil, errors.New("video: no frames")
	}
	s.DecodeTime = time.Since(t0)
	return s, nil
}

// Close releases the spool.
func (s *Store) Close() error {
	if s.spool != nil {
		return s.spool.Close()
	}
	return nil
}

// Frame returns full frame i (nil without a spool).
func (s *Store) Frame(i int) (*haar.Gray, error) {
	if s.spool == nil {
		return nil, nil
	}
	g := &haar.Gray{W: s.fullW, H: s.fullH, Pix: make([]uint8, s.fullW*s.fullH)}
	if _, err := s.spool.ReadAt(g.Pix, int64(i)*int64(len(g.Pix))); err != nil {
		return nil, fmt.Errorf("video: spool: frame %d: %w", i, err)
	}
	return g, nil
}

func (s *Store) smallFrame(i int) []uint8 { return s.small[i*s.SW*s.SH : (i+1)*s.SW*s.SH] }

// poolCell is the side of the cells over which features pool.
const poolCell = 8

// features are the specialized model's inputs for frame i, from the
// absolute difference with the background (the per-pixel median of every
// small frame; the camera is fixed): the number of foreground blobs (4-
// connected pixels differing by more than fgThreshold, at least minBlob of
// them), the foreground share in each of four horizontal bands (people far
// away are small), and the mean difference over poolCell×poolCell cells.
func (s *Store) features(i int, dst []float64) []float64 {
	if s.background == nil {
		s.computeBackground()
	}
	dst = dst[:0]
	px := s.smallFrame(i)
	n := s.SW * s.SH
	fg := make([]bool, n)
	var bands [4]float64
	for p := 0; p < n; p++ {
		d := int(px[p]) - int(s.background[p])
		if d < 0 {
			d = -d
		}
		if d > fgThreshold {
			fg[p] = true
			bands[(p/s.SW)*4/s.SH]++
		}
	}
	blobs := 0
	stack := []int{}
	for p := 0; p < n; p++ {
		if !fg[p] {
			continue
		}
		size := 0
		stack = append(stack[:0], p)
		fg[p] = false
		for len(stack) > 0 {
			q := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size++
			x, y := q%s.SW, q/s.SW
			for _, nb := range [4][2]int{{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}} {
				if nb[0] >= 0 && nb[0] < s.SW && nb[1] >= 0 && nb[1] < s.SH && fg[nb[1]*s.SW+nb[0]] {
					fg[nb[1]*s.SW+nb[0]] = false
					stack = append(stack, nb[1]*s.SW+nb[0])
				}
			}
		}
		if size >= minBlob {
			blobs++
		}
	}
	dst = append(dst, float64(blobs)/4)
	for _, b := range bands {
		dst = append(dst, b*4/float64(n)*10)
	}
	cw, ch := s.SW/poolCell, s.SH/poolCell
	for cy := 0; cy < ch; cy++ {
		for cx := 0; cx < cw; cx++ {
			var sum int
			for y := cy * poolCell; y < (cy+1)*poolCell; y++ {
				for x := cx * poolCell; x < (cx+1)*poolCell; x++ {
					d := int(px[y*s.SW+x]) - int(s.background[y*s.SW+x])
					if d < 0 {
						d = -d
					}
					sum += d
				}
			}
			dst = append(dst, float64(sum)/float64(poolCell*poolCell*255))
		}
	}
	return dst
}

// Foreground parameters of the specialized model's features.
const (
	fgThreshold = 25
	minBlob     = 6
)

func (s *Store) computeBackground() {
	n := s.SW * s.SH
	s.background = make([]uint8, n)
	var hist [256]int
	for p := 0; p < n; p++ {
		clear(hist[:])
		for i := 0; i < s.N; i++ {
			hist[s.small[i*n+p]]++
		}
		acc := 0
		for v, c := range hist {
			acc += c
			if 2*acc >= s.N {
				s.background[p] = uint8(v)
				break
			}
		}
	}
}

// dist is the mean absolute difference of two frames' small versions.
func (s *Store) dist(i, j int) float64 {
	a, b := s.smallFrame(i), s.smallFrame(j)
	var d int
	for k := range a {
		x := int(a[k]) - int(b[k])
		if x < 0 {
			x = -x
		}
		d += x
	}
	return float64(d) / float64(len(a))
}

// QueryOptions configure Run.
type QueryOptions struct {
	Accuracy float64 // selection target agreement with the reference; default 0.95
	Seed     uint64
	// Train is the number of frames labelled by the reference to train the
	// specialized model (default 10 % of the frames, 40 to 400); their
	// out-of-fold scores also choose the cascade's thresholds.
	Train int
	// Confidence is the optimizer's allowance for sampling error (default
	// 0.9): the selection's disagreement must meet the target at this one-sided
	// Wilson bound on the held-out sample (higher is more conservative).
	Confidence float64
	// Diff lets the optimizer use a difference detector (reuse the last
	// evaluated frame's answer when the frame barely changed). Off by
	// default: on the vtest clip its thresholds, chosen on training frames
	// about ten frames apart, cost 3–13 points of agreement on the full
	// video.
	Diff bool
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
	Frames         int     `json:"frames"`
	// Seconds is the query's time after decoding: its own work plus every
	// reference call at the reference's cost (a cached answer is charged
	// as if computed, so a warm cache does not flatter the speedup).
	Seconds float64 `json:"seconds"`
	// Speedup is Frames × the reference's cost per frame / Seconds.
	Speedup            float64       `json:"speedup"`
	ReferenceSeconds   float64       `json:"reference_seconds_per_frame"`
	PlainSamplingCalls int           `json:"plain_sampling_calls,omitempty"`
	Plan               *cascade.Plan `json:"plan,omitempty"`
	Model              string        `json:"model"`
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
	if opt.Train == 0 {
		opt.Train = min(max(s.N/10, 40), 400, s.N/2)
	}
	if opt.Train < 10 || opt.Train > s.N {
		return nil, fmt.Errorf("video: %d frames are too few to train on %d", s.N, opt.Train)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0xf4a3e))
	cnt := &counter{ref: ref, store: s, known: map[int]int{}}
	// Training frames: evenly spaced with a random phase.
	train := spaced(s.N, opt.Train, rng.Float64())
	ys := make([]float64, len(train))
	for k, i := range train {
		v, err := cnt.count(ctx, i)
		if err != nil {
			return nil, err
		}
		ys[k] = float64(v)
	}
	m, err := fitCounter(s, train, ys)
	if err != nil {
		return nil, err
	}
	pred := make([]float64, s.N)
	var fx []float64
	for i := range pred {
		fx = s.features(i, fx)
		pred[i] = m.predictX(fx)
	}
	inTrain := make([]bool, s.N)
	for _, i := range train {
		inTrain[i] = true
	}
	a := &Answer{Kind: q.Kind, Frames: s.N, Model: m.String()}
	switch q.Kind {
	case Select:
		err = runSelect(ctx, s, cnt, q, opt, pred, train, m, a)
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
	cost := ref.Cost()
	if cost <= 0 && cnt.calls > 0 {
		cost = cnt.spent.Seconds() / float64(cnt.calls)
	}
	own := time.Since(t0) - cnt.spent
	a.ReferenceCalls = cnt.calls
	a.ReferenceSeconds = cost
	a.Seconds = own.Seconds() + float64(cnt.calls)*cost
	if a.Seconds > 0 {
		a.Speedup = float64(s.N) * cost / a.Seconds
	}
	return a, nil
}

// spaced picks n frame indices of N evenly spaced, offset by phase ∈ [0,1).
func spaced(N, n int, phase float64) []int {
	out := make([]int, 0, n)
	step := float64(N) / float64(n)
	seen := map[int]bool{}
	for k := 0; k < n; k++ {
		i := min(int((float64(k)+phase)*step), N-1)
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	return out
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// score maps a predicted count to P(predicate holds), for the cascade's
// thresholds.
func score(q *Query, pred float64) float64 {
	k := float64(q.Value)
	switch q.Op {
	case ">=":
		return sigmoid(2 * (pred - (k - 0.5)))
	case ">":
		return sigmoid(2 * (pred - (k + 0.5)))
	case "<=":
		return sigmoid(2 * ((k + 0.5) - pred))
	case "<":
		return sigmoid(2 * ((k - 0.5) - pred))
	case "=":
		return sigmoid(2 * (0.5 - math.Abs(pred-k)))
	}
	return 1 - sigmoid(2*(0.5-math.Abs(pred-k)))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func runSelect(ctx context.Context, s *Store, cnt *counter, q *Query, opt QueryOptions, pred []float64, train []int, m *counterModel, a *Answer) error {
	// The held-out sample is the training frames scored out of fold.
	h := &cascade.Heldout{Binary: true}
	for k, i := range train {
		h.Score = append(h.Score, score(q, m.oof[k]))
		h.Ref = append(h.Ref, boolInt(q.Holds(cnt.known[i])))
		d := 0.0
		if k > 0 {
			d = s.dist(train[k-1], i)
		}
		h.Dist = append(h.Dist, d)
	}
	// Measured costs per frame: the cheap model and the difference.
	t0 := time.Now()
	for i := 0; i < min(s.N, 200); i++ {
		_ = score(q, pred[i])
		if i > 0 {
			_ = s.dist(i-1, i)
		}
	}
	per := time.Since(t0).Seconds() / float64(min(s.N, 200))
	refCost := cnt.ref.Cost()
	if refCost <= 0 && cnt.calls > 0 {
		refCost = cnt.spent.Seconds() / float64(cnt.calls)
	}
	if !opt.Diff {
		h.Dist = nil
	}
	plan, err := cascade.OptimizeConfident(h, cascade.Costs{Cheap: per, Reference: refCost, Diff: per}, opt.Accuracy, opt.Confidence)
	if err != nil {
		// No thresholds meet the target on the sample: every frame goes to
		// the reference.
		plan = &cascade.Plan{Low: cascade.NoLow, High: cascade.NoHigh}
		cascade.Evaluate(h, cascade.Costs{Cheap: per, Reference: refCost}, plan)
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

func runAggregate(ctx context.Context, s *Store, cnt *counter, q *Query, pred []float64, inTrain []bool, rng *rand.Rand, a *Answer) error {
	var pool []int
	for i := 0; i < s.N; i++ {
		if !inTrain[i] {
			pool = append(pool, i)
		}
	}
	rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	var mux float64
	for _, i := range pool {
		mux += pred[i]
	}
	N := float64(len(pool))
	mux /= N
	z := distuv.UnitNormal.Quantile(1 - (1-q.Confidence)/2)
	var xs, ys []float64
	var est, half, sdY float64
	for _, i := range pool {
		v, err := cnt.count(ctx, i)
		if err != nil {
			return err
		}
		xs, ys = append(xs, pred[i]), append(ys, float64(v))
		n := len(ys)
		if n < 30 {
			continue
		}
		est, half, sdY = controlVariate(xs, ys, mux, N, z)
		if half <= q.ErrorWithin {
			break
		}
	}
	if len(ys) < 30 { // the whole pool was read: the mean is exact
		est, half, sdY = controlVariate(xs, ys, mux, N, z)
	}
	// Frames a plain random sample would need for the same half-width.
	n0 := math.Pow(z*sdY/q.ErrorWithin, 2)
	a.PlainSamplingCalls = int(math.Ceil(n0 / (1 + n0/N)))
	a.Answer, a.CILow, a.CIHigh = est, est-half, est+half
	return nil
}

// controlVariate is the mean of ys corrected by the control variate xs
// (whose population mean is mux), with its half-width at z, using the
// finite-population correction over N frames; it also returns sd(ys).
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
	resid := (syy - 2*c*sxy + c*c*sxx) / max(n-1, 1)
	fpc := max(1-n/N, 0)
	half = z * math.Sqrt(max(resid, 0)/n*fpc)
	sdY = math.Sqrt(syy / max(n-1, 1))
	return est, half, sdY
}

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

// counterModel is the specialized model: ridge regression of the object
// count on the frame's pooled background differences, λ chosen by 5-fold
// cross-validation on the training frames. oof holds the out-of-fold
// predictions of the training frames under the chosen λ: the held-out
// scores the optimizer picks thresholds on, at no extra reference call.
type counterModel struct {
	w      []float64 // features + bias
	lambda float64
	oof    []float64
}

func (m *counterModel) String() string {
	return fmt.Sprintf("ridge regression on %d background-difference cells, lambda %g", len(m.w)-1, m.lambda)
}

func (m *counterModel) predictX(x []float64) float64 {
	v := m.w[len(x)]
	for i, f := range x {
		v += m.w[i] * f
	}
	return v
}

func fitCounter(s *Store, frames []int, ys []float64) (*counterModel, error) {
	xs := make([][]float64, len(frames))
	for k, i := range frames {
		xs[k] = s.features(i, nil)
	}
	d := len(xs[0]) + 1
	solve := func(idx []int, lambda float64) ([]float64, error) {
		xtx := mat.NewSymDense(d, nil)
		xty := mat.NewVecDense(d, nil)
		raw := make([]float64, d*d)
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
	best, bestErr := 0.0, math.Inf(1)
	var bestOOF []float64
	for _, lambda := range []float64{0.001, 0.01, 0.1, 1, 10} {
		var sse float64
		oof := make([]float64, len(frames))
		for f := 0; f < 5; f++ {
			var tr, te []int
			for k := range frames {
				if k%5 == f {
					te = append(te, k)
				} else {
					tr = append(tr, k)
				}
			}
			w, err := solve(tr, lambda)
			if err != nil {
				return nil, err
			}
			m := &counterModel{w: w}
			for _, k := range te {
				oof[k] = m.predictX(xs[k])
				e := oof[k] - ys[k]
				sse += e * e
			}
		}
		if sse < bestErr {
			best, bestErr, bestOOF = lambda, sse, oof
		}
	}
	all := make([]int, len(frames))
	for k := range all {
		all[k] = k
	}
	w, err := solve(all, best)
	if err != nil {
		return nil, err
	}
	return &counterModel{w: w, lambda: best, oof: bestOOF}, nil
}
