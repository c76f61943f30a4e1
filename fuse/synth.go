package fuse

import (
	"math"
	"math/rand/v2"
	"strconv"
)

// SynthConfig describes a generated fusion problem with planted truths,
// source accuracies and source features, for tests and benchmarks.
type SynthConfig struct {
	Objects, Sources, Claims int
	K                        int // values per object (default 2)
	// Skew > 0 draws each claim's source from a Zipf-like distribution
	// (weight ∝ 1/(rank+1)^Skew) instead of uniformly: a few sources make
	// most claims, most make few.
	Skew float64
	// Groups is the number of source kinds (a categorical feature); a
	// source's accuracy is GroupAcc[its group] plus uniform noise of
	// ±Noise, clamped to [0.05, 0.99]. Default: 4 groups at 0.55, 0.7,
	// 0.85, 0.95.
	GroupAcc []float64
	Noise    float64
	// Prior is the distribution of true values (default uniform).
	Prior []float64
	// Gap > 0 makes sources class-dependent, as Dawid–Skene models them:
	// a source's accuracy on truth y is its accuracy plus Gap·(u_y − 0.5)
	// for a uniform u_y per source and value.
	Gap  float64
	Seed uint64
}

// Synth is a generated problem.
type Synth struct {
	Claims   *Claims
	Truth    []int32   // per object, value id
	Accuracy []float64 // per source, the planted accuracy (the average over truths weighted by Prior when Gap > 0)
	Group    []int     // per source
	Features *Features // one-hot group
}

// Synthesize generates claims: each object's truth uniform over K values,
// each claim from a source drawn per Skew, right with the source's
// accuracy and otherwise uniform over the other values. A source claims
// an object at most once (a repeat draw is redrawn, up to a bound).
func Synthesize(cfg SynthConfig) *Synth {
	if cfg.K == 0 {
		cfg.K = 2
	}
	if cfg.GroupAcc == nil {
		cfg.GroupAcc = []float64{0.55, 0.7, 0.85, 0.95}
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	g := len(cfg.GroupAcc)
	s := &Synth{Accuracy: make([]float64, cfg.Sources), Group: make([]int, cfg.Sources)}
	for i := range s.Accuracy {
		s.Group[i] = rng.IntN(g)
		a := cfg.GroupAcc[s.Group[i]] + (2*rng.Float64()-1)*cfg.Noise
		s.Accuracy[i] = min(max(a, 0.05), 0.99)
	}
	classAcc := make([]float64, cfg.Sources*cfg.K)
	prior := cfg.Prior
	if prior == nil {
		prior = make([]float64, cfg.K)
		for y := range prior {
			prior[y] = 1 / float64(cfg.K)
		}
	}
	for i := range s.Accuracy {
		var avg float64
		for y := 0; y < cfg.K; y++ {
			a := s.Accuracy[i]
			if cfg.Gap > 0 {
				a = min(max(a+cfg.Gap*(rng.Float64()-0.5), 0.05), 0.99)
			}
			classAcc[i*cfg.K+y] = a
			avg += prior[y] * a
		}
		s.Accuracy[i] = avg
	}
	priorCum := make([]float64, cfg.K)
	var pc float64
	for y, p := range prior {
		pc += p
		priorCum[y] = pc
	}
	// Cumulative source weights.
	cum := make([]float64, cfg.Sources)
	var tot float64
	for i := range cum {
		w := 1.0
		if cfg.Skew > 0 {
			w = 1 / math.Pow(float64(i+1), cfg.Skew)
		}
		tot += w
		cum[i] = tot
	}
	draw := func() int {
		u := rng.Float64() * tot
		lo, hi := 0, len(cum)-1
		for lo < hi {
			mid := (lo + hi) / 2
			if cum[mid] < u {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		return lo
	}
	s.Truth = make([]int32, cfg.Objects)
	c := &Claims{Ptr: make([]int64, cfg.Objects+1)}
	for v := 0; v < cfg.K; v++ {
		c.Values = append(c.Values, strconv.Itoa(v))
	}
	c.Objects = make([]string, cfg.Objects)
	for o := range c.Objects {
		c.Objects[o] = "o" + strconv.Itoa(o)
	}
	c.Sources = make([]string, cfg.Sources)
	for i := range c.Sources {
		c.Sources[i] = "s" + strconv.Itoa(i)
	}
	c.Src = make([]int32, 0, cfg.Claims)
	c.Val = make([]int32, 0, cfg.Claims)
	seen := make([]int32, cfg.Sources)
	for o := 0; o < cfg.Objects; o++ {
		y := int32(cfg.K - 1)
		u := rng.Float64() * pc
		for v, c := range priorCum {
			if u < c {
				y = int32(v)
				break
			}
		}
		s.Truth[o] = y
		// Spread the claims evenly: object o gets its share of the total.
		n := (cfg.Claims*(o+1))/cfg.Objects - (cfg.Claims*o)/cfg.Objects
		n = min(n, cfg.Sources)
		for q := 0; q < n; q++ {
			src := draw()
			for try := 0; seen[src] == int32(o)+1 && try < 50; try++ {
				src = draw()
			}
			if seen[src] == int32(o)+1 {
				continue
			}
			seen[src] = int32(o) + 1
			v := y
			if rng.Float64() >= classAcc[src*cfg.K+int(y)] {
				v = int32(rng.IntN(cfg.K - 1))
				if v >= y {
					v++
				}
			}
			c.Src = append(c.Src, int32(src))
			c.Val = append(c.Val, v)
		}
		c.Ptr[o+1] = int64(len(c.Src))
	}
	s.Claims = c
	f := &Features{D: g, X: make([]float64, cfg.Sources*g)}
	for j := 0; j < g; j++ {
		f.Names = append(f.Names, "group="+strconv.Itoa(j))
	}
	for i, gr := range s.Group {
		f.X[i*g+gr] = 1
	}
	s.Features = f
	return s
}
