package labelmodel

import (
	"crypto/sha1"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/dawn-ml/dawn/internal/chunks"
)

// TieBreak is a policy for rows whose top probabilities tie (within
// TieTolerance), as in Snorkel's probs_to_preds.
type TieBreak int

const (
	// TieAbstain predicts Abstain (-1) for a tied row; Snorkel's default
	// for predict and score.
	TieAbstain TieBreak = iota
	// TieRandom is Snorkel's deterministic "random" policy: row i (its
	// index in the matrix) takes tied class number
	// int(sha1(str(i)).hexdigest(), 16) mod (number tied), counting the
	// tied classes in increasing order. Snorkel v0.10 hashes the row index,
	// not the probabilities, so results depend on row order exactly as
	// Snorkel's do.
	TieRandom
	// TieTrueRandom picks uniformly among the tied classes with a PCG
	// generator seeded by the caller (Snorkel uses numpy's global state).
	TieTrueRandom
)

// TieTolerance is the largest gap to the top probability that still counts
// as a tie (Snorkel's tol).
const TieTolerance = 1e-5

// Abstain is the prediction for a row left unlabeled by TieAbstain.
const Abstain = -1

var tieNames = []string{"abstain", "random", "true-random"}

// String returns Snorkel's name for the policy.
func (t TieBreak) String() string {
	if t >= 0 && int(t) < len(tieNames) {
		return tieNames[t]
	}
	return fmt.Sprintf("TieBreak(%d)", int(t))
}

// ParseTieBreak parses Snorkel's policy names: abstain, random, true-random.
func ParseTieBreak(s string) (TieBreak, error) {
	for i, n := range tieNames {
		if s == n {
			return TieBreak(i), nil
		}
	}
	return 0, fmt.Errorf("labelmodel: unknown tie-break policy %q (want abstain, random or true-random)", s)
}

// ProbsToPreds converts n×k row-major probabilities into class ids, the
// classes within TieTolerance of a row's maximum being tied and resolved by
// policy. seed drives TieTrueRandom only.
func ProbsToPreds(probs []float64, k int, policy TieBreak, seed uint64) ([]int, error) {
	if k < 2 {
		return nil, fmt.Errorf("labelmodel: probabilities need at least 2 classes, got %d", k)
	}
	if len(probs)%k != 0 {
		return nil, fmt.Errorf("labelmodel: %d probabilities is not a multiple of %d classes", len(probs), k)
	}
	if policy < TieAbstain || policy > TieTrueRandom {
		return nil, fmt.Errorf("labelmodel: unknown tie-break policy %d", int(policy))
	}
	n := len(probs) / k
	out := make([]int, n)
	rng := rand.New(rand.NewPCG(seed, 0x64617774)) // used in row order, so deterministic
	tied := make([]int, 0, k)
	for i := 0; i < n; i++ {
		row := probs[i*k : (i+1)*k]
		mx := row[0]
		for _, v := range row[1:] {
			mx = max(mx, v)
		}
		tied = tied[:0]
		for c, v := range row {
			// Snorkel: |p - max| < tol.
			if mx-v < TieTolerance {
				tied = append(tied, c)
			}
		}
		switch {
		case len(tied) == 1:
			out[i] = tied[0]
		case len(tied) == 0, policy == TieAbstain: // none tied: a NaN row
			out[i] = Abstain
		case policy == TieRandom:
			out[i] = tied[snorkelHashMod(i, len(tied))]
		default:
			out[i] = tied[rng.IntN(len(tied))]
		}
	}
	return out, nil
}

// snorkelHashMod is int(hashlib.sha1(str(i).encode()).hexdigest(), 16) % m.
func snorkelHashMod(i, m int) int {
	sum := sha1.Sum(strconv.AppendInt(nil, int64(i), 10))
	r := uint64(0)
	for _, b := range sum {
		r = (r<<8 | uint64(b)) % uint64(m)
	}
	return int(r)
}

// minPerWorker is how many rows each extra worker needs: smaller inputs
// are not split.
const minPerWorker = 1024

func numWorkers(n, workers int) int { return chunks.Count(n, workers, minPerWorker) }

// parallel runs f over [0, n) split into numWorkers(n, workers) contiguous
// ranges; t numbers the range, so callers can merge per-range results in a
// fixed order and stay deterministic.
func parallel(n, workers int, f func(t, lo, hi int)) { chunks.Run(n, workers, minPerWorker, f) }

// mt19937 is the Mersenne Twister with numpy's legacy seeding
// (numpy.random.seed(int) → init_genrand) and random_sample (53-bit
// doubles), so a seed gives the same draw as in Snorkel.
type mt19937 struct {
	mt  [624]uint32
	idx int
}

func newMT19937(seed uint32) *mt19937 {
	r := &mt19937{idx: 624}
	r.mt[0] = seed
	for i := 1; i < 624; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	return r
}

func (r *mt19937) uint32() uint32 {
	if r.idx >= 624 {
		const upper, lower = 0x80000000, 0x7fffffff
		for i := 0; i < 624; i++ {
			y := r.mt[i]&upper | r.mt[(i+1)%624]&lower
			v := r.mt[(i+397)%624] ^ y>>1
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			r.mt[i] = v
		}
		r.idx = 0
	}
	y := r.mt[r.idx]
	r.idx++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// float64 is numpy's random_sample: (a>>5)·2^26 + (b>>6), over 2^53.
func (r *mt19937) float64() float64 {
	a, b := r.uint32()>>5, r.uint32()>>6
	return (float64(a)*67108864 + float64(b)) / 9007199254740992
}
