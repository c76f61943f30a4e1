package fuse

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/labelmodel"
	"github.com/dawn-ml/dawn/model"
)

func build(t *testing.T, rows ...[3]string) *Claims {
	t.Helper()
	b := NewBuilder(false)
	for _, r := range rows {
		if err := b.Add(r[0], r[1], r[2]); err != nil {
			t.Fatal(err)
		}
	}
	c, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %.12f, want %.12f", what, got, want)
	}
}

func fit(t *testing.T, c *Claims, opt Options) *Result {
	t.Helper()
	r, err := Fit(t.Context(), c, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// a: s1=x s2=x s3=y; b: s1=y s2=x (a tie, which goes to the first value).
func smallClaims(t *testing.T) *Claims {
	return build(t, [3]string{"a", "s1", "x"}, [3]string{"a", "s2", "x"}, [3]string{"a", "s3", "y"},
		[3]string{"b", "s1", "y"}, [3]string{"b", "s2", "x"})
}

func TestMajorityHandWorked(t *testing.T) {
	r := fit(t, smallClaims(t), Options{Method: Majority})
	near(t, "P(a=x)", r.Post[0], 2.0/3)
	near(t, "P(b=x)", r.Post[2], 0.5)
	if r.Value[0] != 0 || r.Value[1] != 0 {
		t.Errorf("values %v, want x and x (tie to the first value)", r.Value)
	}
	// Agreement with the fused values: s1 1 of 2, s2 2 of 2, s3 0 of 1.
	for s, want := range []float64{0.5, 1, 0} {
		near(t, "accuracy "+r.Claims.Sources[s], r.Accuracy[s], want)
	}
	// Removing s2 from b leaves y alone; removing s1 from b leaves x: only
	// s2 changes a value.
	if got := r.Impact(); got[0] != 0 || got[1] != 1 || got[2] != 0 {
		t.Errorf("impact %v, want [0 1 0]", got)
	}
	reps := r.Sources()
	if reps[0].Source != "s2" || reps[0].Changes != 1 || reps[0].Rank != 1 {
		t.Errorf("first source to clean: %+v, want s2 with 1 change", reps[0])
	}
}

func TestWawaHandWorked(t *testing.T) {
	// Skills (agreement with the plain vote): s1 0.5, s2 1, s3 0.
	// a: x 0.5+1, y 0 → x 1; b: y 0.5, x 1 → x 2/3.
	r := fit(t, smallClaims(t), Options{Method: Wawa})
	near(t, "P(a=x)", r.Post[0], 1)
	near(t, "P(b=x)", r.Post[2], 2.0/3)
	for s, want := range []float64{0.5, 1, 0} {
		near(t, "skill", r.Accuracy[s], want)
	}
}

func TestOneCoinEStepHandWorked(t *testing.T) {
	c := build(t, [3]string{"a", "s1", "x"}, [3]string{"a", "s2", "y"})
	post := make([]float64, 2)
	// P(x) ∝ 0.9·0.4 = 0.36, P(y) ∝ 0.1·0.6 = 0.06.
	ll := oneCoinEStep(c, []float64{0.9, 0.6}, []float64{0.5, 0.5}, post, 1)
	near(t, "P(x)", post[0], 0.36/0.42)
	near(t, "log-likelihood", ll, math.Log(0.5*0.42))
}

// o1: s1=0 s2=0; o2: s1=1 s2=0; o3: s1=1 s2=1. From the vote (o2 a tie,
// 0.5/0.5), one M-step gives prior 0.5/0.5, θ_s1 = [[2/3, 1/3], [0, 1]],
// θ_s2 = [[1, 0], [1/3, 2/3]]; the E-step then keeps o2 at 0.5/0.5
// (0.5·1/3·1 against 0.5·1·1/3) and o1 at 0 (θ_s1[1][0] = 0).
func TestDawidSkeneOneIterationHandWorked(t *testing.T) {
	c := build(t, [3]string{"o1", "s1", "0"}, [3]string{"o1", "s2", "0"}, [3]string{"o2", "s1", "1"},
		[3]string{"o2", "s2", "0"}, [3]string{"o3", "s1", "1"}, [3]string{"o3", "s2", "1"})
	p, post, err := labelmodel.DawidSkeneEM(t.Context(), patterns(c), 2, 2, labelmodel.DSOptions{MaxIter: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{2.0 / 3, 1.0 / 3, 0}, {0, 1, 0}, {1, 0, 0}, {1.0 / 3, 2.0 / 3, 0}}
	for i, row := range want {
		for a, v := range row {
			near(t, "theta", p.Theta[i*3+a], v)
		}
	}
	for o, w := range []float64{1, 0.5, 0} {
		near(t, "P(y=0)", post[o*2], w)
	}
	for _, a := range p.Accuracies() {
		near(t, "accuracy", a, 5.0/6)
	}
}

func TestCATDOneIterationHandWorked(t *testing.T) {
	b := NewBuilder(true)
	claims := map[string][2]float64{"A": {10, 20}, "B": {11, 22}, "C": {14, 18}, "D": {12, 23}}
	for _, s := range []string{"A", "B", "C", "D"} {
		b.AddNumber("o1", s, claims[s][0])
		b.AddNumber("o2", s, claims[s][1])
	}
	c, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	// Medians 11.5 and 21; squared errors A 3.25, B 1.25, C 15.25, D 4.25;
	// every source has 2 claims, so the χ²(0.025, 2) factor cancels.
	r := fit(t, c, Options{Method: CATD, MaxIter: 1})
	errs := []float64{3.25, 1.25, 15.25, 4.25}
	var sw, s1, s2 float64
	for i, s := range []string{"A", "B", "C", "D"} {
		sw += 1 / errs[i]
		s1 += claims[s][0] / errs[i]
		s2 += claims[s][1] / errs[i]
	}
	near(t, "o1", r.Truth[0], s1/sw)
	near(t, "o2", r.Truth[1], s2/sw)
	// Weights normalised to the largest (B's).
	near(t, "weight C", r.Accuracy[2], 1.25/15.25)
	// χ² with 2 degrees of freedom is exponential with mean 2.
	near(t, "quantile", chiQuantile(0.025, 2), -2*math.Log(1-0.025))
	m := fit(t, c, Options{Method: Median})
	near(t, "median o1", m.Truth[0], 11.5)
	mean := fit(t, c, Options{Method: Mean})
	near(t, "mean o2", mean.Truth[1], 20.75)
}

func TestWilsonInterval(t *testing.T) {
	lo, hi := wilson(0.5, 10)
	near(t, "low", lo, 0.23659309051878)
	near(t, "high", hi, 0.76340690948122)
}

func TestKOSNeedsBinaryClaims(t *testing.T) {
	c := build(t, [3]string{"a", "s1", "x"}, [3]string{"a", "s2", "y"}, [3]string{"a", "s3", "z"})
	if _, err := Fit(t.Context(), c, Options{Method: KOS}); err == nil || !strings.Contains(err.Error(), "binary") {
		t.Fatalf("err = %v, want a binary-claims error", err)
	}
}

func TestMethodKindErrors(t *testing.T) {
	c := smallClaims(t)
	for _, m := range []string{CATD, "nope"} {
		if _, err := Fit(t.Context(), c, Options{Method: m}); err == nil {
			t.Errorf("%s on categorical claims: no error", m)
		}
	}
}

func TestBuilderDropsRepeatedSource(t *testing.T) {
	c := build(t, [3]string{"a", "s1", "x"}, [3]string{"a", "s1", "y"}, [3]string{"a", "s2", "y"})
	if c.Duplicates != 1 || c.N() != 2 || c.Val[0] != 0 {
		t.Fatalf("duplicates %d, claims %d, first value %d; want 1, 2, x kept", c.Duplicates, c.N(), c.Val[0])
	}
	if _, err := NewBuilder(false).Build(); err == nil {
		t.Error("empty claims: no error")
	}
}

func TestValuesSortNumerically(t *testing.T) {
	c := build(t, [3]string{"a", "s1", "10"}, [3]string{"a", "s2", "2"}, [3]string{"a", "s3", "b"})
	if strings.Join(c.Values, ",") != "2,10,b" {
		t.Errorf("values %v, want 2,10,b", c.Values)
	}
}

// MACE finds a source that always answers the same value a spammer.
func TestMACEFindsSpammer(t *testing.T) {
	s := Synthesize(SynthConfig{Objects: 2000, Sources: 10, Claims: 10000, K: 2, GroupAcc: []float64{0.85}, Seed: 3})
	c := s.Claims
	// Make source 0 answer "0" everywhere.
	for j, src := range c.Src {
		if src == 0 {
			c.Val[j] = 0
		}
	}
	r := fit(t, c, Options{Method: MACE})
	if r.Accuracy[0] > 0.6 {
		t.Errorf("spammer accuracy %.3f, want about 0.5", r.Accuracy[0])
	}
	for s := 1; s < 10; s++ {
		if math.Abs(r.Accuracy[s]-0.85) > 0.05 {
			t.Errorf("source %d accuracy %.3f, want about 0.85", s, r.Accuracy[s])
		}
	}
}

// SLiMFast's ERM learns group accuracies from labelled objects only.
func TestSLiMFastERM(t *testing.T) {
	s := Synthesize(SynthConfig{Objects: 5000, Sources: 400, Claims: 15000, K: 3, Seed: 4})
	known := make([]int32, len(s.Truth))
	for o := range known {
		known[o] = -1
		if o%2 == 0 {
			known[o] = s.Truth[o]
		}
	}
	r := fit(t, s.Claims, Options{Method: SLiMFast, Features: s.Features, Known: known, ForceERM: true})
	if !strings.HasPrefix(r.Reason, "ERM") {
		t.Fatalf("reason %q", r.Reason)
	}
	use := make([]bool, len(known))
	for o := range use {
		use[o] = known[o] < 0
	}
	mean, _ := accError(r, s.Accuracy, 1)
	acc := r.ScoreCategorical(s.Truth, use).Accuracy
	if mean > 0.05 || acc < 0.85 {
		t.Errorf("ERM: source accuracy error %.3f, held-out accuracy %.3f", mean, acc)
	}
	// The optimizer picks ERM here on its own (15,000·0.5 labelled claims ≥ 20·5).
	auto := fit(t, s.Claims, Options{Method: SLiMFast, Features: s.Features, Known: known})
	if !strings.HasPrefix(auto.Reason, "ERM") {
		t.Errorf("optimizer chose %q", auto.Reason)
	}
}

// A saved model scores new claims with the fitted source parameters: on
// the training objects it gives the fitted posteriors back.
func TestSavedModelScoresClaims(t *testing.T) {
	s := Synthesize(SynthConfig{Objects: 300, Sources: 20, Claims: 1500, K: 3, Seed: 5})
	for _, m := range []string{DawidSkene, OneCoin, Majority, SLiMFast} {
		opt := Options{Method: m}
		if m == SLiMFast {
			opt.Features = s.Features
		}
		r := fit(t, s.Claims, opt)
		dir := filepath.Join(t.TempDir(), "m")
		if err := r.Save(dir, "item", "worker", "answer", ""); err != nil {
			t.Fatal(err)
		}
		mdl, err := model.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		c := s.Claims
		sch := arrow.NewSchema([]arrow.Field{{Name: "item", Type: arrow.BinaryTypes.String},
			{Name: "worker", Type: arrow.BinaryTypes.String}, {Name: "answer", Type: arrow.BinaryTypes.String}}, nil)
		bld := array.NewRecordBuilder(memory.DefaultAllocator, sch)
		for o := 0; o < 50; o++ {
			for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
				bld.Field(0).(*array.StringBuilder).Append(c.Objects[o])
				bld.Field(1).(*array.StringBuilder).Append(c.Sources[c.Src[j]])
				bld.Field(2).(*array.StringBuilder).Append(c.Values[c.Val[j]])
			}
		}
		rec := bld.NewRecordBatch()
		p, err := mdl.Predict(t.Context(), rec)
		if err != nil {
			t.Fatal(err)
		}
		row := 0
		for o := 0; o < 50; o++ {
			for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
				for y := 0; y < 3; y++ {
					if d := math.Abs(p.Probs[row*3+y] - r.Post[o*3+y]); d > 1e-9 {
						t.Fatalf("%s: object %d value %d: served %.6f, fitted %.6f", m, o, y, p.Probs[row*3+y], r.Post[o*3+y])
					}
				}
				row++
			}
		}
		rec.Release()
		bld.Release()
	}
}

func TestReadClaimsErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cols := Columns{Object: "item", Source: "worker", Value: "label"}
	if _, err := ReadClaims(write("a.csv", "item,worker\n1,2\n"), ReadOptions{}, cols, false); err == nil || !strings.Contains(err.Error(), `column "label"`) {
		t.Errorf("missing column: %v", err)
	}
	if _, err := ReadClaims(write("b.csv", "item,worker,label\n1,w,x\n2,,y\n"), ReadOptions{}, cols, false); err == nil || !strings.Contains(err.Error(), "row 2: empty column worker") {
		t.Errorf("empty source: %v", err)
	}
	if _, err := ReadClaims(write("c.csv", "item,worker,label\n1,w,3.5\n2,v,high\n"), ReadOptions{}, cols, true); err == nil || !strings.Contains(err.Error(), "row 2, column label") {
		t.Errorf("non-numeric value: %v", err)
	}
	if _, err := ReadClaims(write("d.csv", "item,worker,label\n"), ReadOptions{}, cols, false); err == nil || !strings.Contains(err.Error(), "no claims") {
		t.Errorf("empty file: %v", err)
	}
	c, err := ReadClaims(write("e.csv", "item,worker,label\n007,w1,1\n007,w2,0\n8,w1,1\n"), ReadOptions{}, cols, false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Objects[0] != "007" || c.K() != 2 {
		t.Errorf("objects %v values %v", c.Objects, c.Values)
	}
}

// With no features and the per-source offsets held at zero, SLiMFast's
// accuracy model is one intercept: σ(b) = right claims / claims, here
// (2 + 2) / (3 + 2) = 0.8 for both sources.
func TestSLiMFastInterceptHandWorked(t *testing.T) {
	sm := &slimModel{u: make([]float64, 2)}
	if err := fitLogistic(nil, []float64{3, 2}, []float64{2, 2}, 1, 1e12, sm); err != nil {
		t.Fatal(err)
	}
	for s := 0; s < 2; s++ {
		if got := sigmoid(sm.logit(nil, s)); math.Abs(got-0.8) > 1e-6 {
			t.Errorf("source %d accuracy %.9f, want 0.8", s, got)
		}
	}
	// With weak offsets, each source moves toward its own record: 2/3 and 1.
	sm = &slimModel{u: make([]float64, 2)}
	if err := fitLogistic(nil, []float64{3, 2}, []float64{2, 2}, 1, 1e-3, sm); err != nil {
		t.Fatal(err)
	}
	if a0, a1 := sigmoid(sm.logit(nil, 0)), sigmoid(sm.logit(nil, 1)); a0 >= 0.8 || a1 <= 0.8 {
		t.Errorf("with weak offsets: %.3f, %.3f; want below and above 0.8", a0, a1)
	}
}

// pluralityCredit against enumeration of every outcome of m claims: each
// is right (value 0) with probability p, else one of the k−1 wrong values.
func TestPluralityCreditEnumerated(t *testing.T) {
	// By hand: k=2, m=2, p=0.8: both right 0.64 → 1, a 1–1 tie 0.32 → ½.
	near(t, "q(2,2,0.8)", pluralityCredit(2, 2, 0.8), 0.64+0.16)
	// k=2, m=3, p=0.8: at least two right, 3·0.64·0.2 + 0.512.
	near(t, "q(3,2,0.8)", pluralityCredit(3, 2, 0.8), 0.896)
	near(t, "q(0,3,0.9)", pluralityCredit(0, 3, 0.9), 1.0/3)
	for _, tc := range []struct {
		m, k int
		p    float64
	}{{1, 3, 0.6}, {2, 3, 0.7}, {4, 3, 0.55}, {5, 4, 0.5}, {6, 2, 0.65}, {3, 5, 0.4}} {
		var want float64
		outcomes := 1
		for range tc.m {
			outcomes *= tc.k
		}
		vals := make([]int, tc.m)
		for code := range outcomes {
			x := code
			prob := 1.0
			counts := make([]int, tc.k)
			for i := range vals {
				vals[i] = x % tc.k
				x /= tc.k
				counts[vals[i]]++
				if vals[i] == 0 {
					prob *= tc.p
				} else {
					prob *= (1 - tc.p) / float64(tc.k-1)
				}
			}
			best, ties := 0, 0
			for _, n := range counts {
				if n > best {
					best, ties = n, 1
				} else if n == best {
					ties++
				}
			}
			if counts[0] == best {
				want += prob / float64(ties)
			}
		}
		got := pluralityCredit(tc.m, tc.k, tc.p)
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("pluralityCredit(%d, %d, %g) = %.15f, enumeration %.15f", tc.m, tc.k, tc.p, got, want)
		}
	}
}

// o1: s0=0 s1=0 s2=0; o2: s0=0 s1=1. Pairs: 3 of 3 agree on o1, 0 of 1 on
// o2, r = 3/4, so p̄ = (1 + √0.5)/2. With two classes q(1) = q(2) = p̄
// (a 1–1 tie gives ½), e = 1 − p̄. s0 and s1 agree with the others once in
// two claims: a = (½ − e)/(p̄ − e) = ½. s2 always agrees: (1 − e)/(p̄ − e)
// > 1, clamped to 1. Plain agreement with the fused values would give s0
// 1, s1 ½ (o2's tie goes to 0) and s2 1.
func TestMajorityAccuracyHandWorked(t *testing.T) {
	c := build(t, [3]string{"o1", "s0", "0"}, [3]string{"o1", "s1", "0"}, [3]string{"o1", "s2", "0"},
		[3]string{"o2", "s0", "0"}, [3]string{"o2", "s1", "1"})
	pbar := (1 + math.Sqrt(0.5)) / 2
	near(t, "p̄", pairwiseMeanAccuracy(c), pbar)
	r := fit(t, c, Options{Method: Majority})
	for s, want := range []float64{0.5, 0.5, 1} {
		near(t, "accuracy "+c.Sources[s], r.Accuracy[s], want)
	}
}

// One object, s1 says x with ability α=2, s2 says y with α=½, β = e⁰ = 1:
// P(x) ∝ ½·σ(2)·(1−σ(½)), P(y) ∝ ½·(1−σ(2))·σ(½).
func TestGLADEStepHandWorked(t *testing.T) {
	c := build(t, [3]string{"a", "s1", "x"}, [3]string{"a", "s2", "y"})
	post := make([]float64, 2)
	ll := gladEStep(c, []float64{2, 0.5}, []float64{0}, []float64{0.5, 0.5}, post)
	px := 0.5 * sigmoid(2) * (1 - sigmoid(0.5))
	py := 0.5 * (1 - sigmoid(2)) * sigmoid(0.5)
	near(t, "P(x)", post[0], px/(px+py))
	near(t, "log-likelihood per claim", ll, math.Log(px+py)/2)
	// With three values a wrong claim spreads over two: P(z) ∝ ½·(1−σ(2))/2·(1−σ(½))/2.
	c3 := build(t, [3]string{"a", "s1", "x"}, [3]string{"a", "s2", "y"}, [3]string{"b", "s1", "z"})
	post3 := make([]float64, 6)
	gladEStep(c3, []float64{2, 0.5}, []float64{0, 0}, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}, post3)
	wx := sigmoid(2) * (1 - sigmoid(0.5)) / 2
	wy := (1 - sigmoid(2)) / 2 * sigmoid(0.5)
	wz := (1 - sigmoid(2)) / 2 * (1 - sigmoid(0.5)) / 2
	near(t, "P(a=z)", post3[2], wz/(wx+wy+wz))
}

// o1: s1=1 s2=1 s3=0; o2: s1=1 s2=0, so A = [+1 +1 −1 | +1 −1], y₀ = 1.
// Objects: x = Σ others' A·y: o1 sum 1 → x = [0 0 2]; o2 sum 0 → x = [−1 1].
// Sources: y = Σ other objects' A·x: s1 (claims 0, 3) sum −1 → y₀ = −1,
// y₃ = 0; s2 (1, 4) sum −1 → y₁ = −1, y₄ = 0; s3 (2) → y₂ = 0. Rescaled to
// unit RMS over 5 messages: ×√(5/2).
func TestKOSOneRoundHandWorked(t *testing.T) {
	c := build(t, [3]string{"o1", "s1", "1"}, [3]string{"o1", "s2", "1"}, [3]string{"o1", "s3", "0"},
		[3]string{"o2", "s1", "1"}, [3]string{"o2", "s2", "0"})
	wantSrc := []string{"s1", "s2", "s3", "s1", "s2"}
	for j, s := range c.Src {
		if c.Sources[s] != wantSrc[j] {
			t.Fatalf("claim %d is from %s, want %s (claims are not in object order)", j, c.Sources[s], wantSrc[j])
		}
	}
	A := make([]float64, c.N())
	for j, v := range c.Val {
		A[j] = float64(2*v - 1)
	}
	y := []float64{1, 1, 1, 1, 1}
	bySrc, srcPtr := groupBySource(c)
	if err := kosMessages(t.Context(), c, A, y, bySrc, srcPtr, 1); err != nil {
		t.Fatal(err)
	}
	f := math.Sqrt(2.5)
	for j, want := range []float64{-f, -f, 0, 0, 0} {
		near(t, "y", y[j], want)
	}
}

// o1: s1=x s2=x; o2: s1=x s2=y. From the vote (o1 1/0, o2 ½/½), MACE's
// first M-step counts a claim as known with the posterior of its value:
// s1 knows 1.5 of 2 claims and spams ½ on x; s2 knows 1.5 and spams ½ on y.
// With smoothing ε: θ = (1.5+ε)/(2+2ε), ξ_s1 = ((½+ε), ε)/(½+2ε), ξ_s2 the
// mirror. The E-step (prior ¾/¼ from the vote) then gives o2
// P(x) ∝ ¾·(θ+(1−θ)ξ_s1x)·(1−θ)ξ_s2y, P(y) ∝ ¼·(1−θ)ξ_s1x·(θ+(1−θ)ξ_s2y).
func TestMACEOneIterationHandWorked(t *testing.T) {
	c := build(t, [3]string{"o1", "s1", "x"}, [3]string{"o1", "s2", "x"}, [3]string{"o2", "s1", "x"}, [3]string{"o2", "s2", "y"})
	r := fit(t, c, Options{Method: MACE, MaxIter: 1})
	e := maceSmooth
	th := (1.5 + e) / (2 + 2*e)
	big, small := (0.5+e)/(0.5+2*e), e/(0.5+2*e)
	px := 0.75 * (th + (1-th)*big) * (1 - th) * big
	py := 0.25 * (1 - th) * big * (th + (1-th)*big)
	near(t, "P(o2=x)", r.Post[2], px/(px+py))
	// o1: both say x: P(x) ∝ ¾·(θ+(1−θ)ξ_s1x)·(θ+(1−θ)ξ_s2x), P(y) ∝ ¼·(1−θ)ξ_s1x·(1−θ)ξ_s2x.
	qx := 0.75 * (th + (1-th)*big) * (th + (1-th)*small)
	qy := 0.25 * (1 - th) * big * (1 - th) * small
	near(t, "P(o1=x)", r.Post[0], qx/(qx+qy))
}
