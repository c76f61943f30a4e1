package labelmodel

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/dawn-ml/dawn/label"
)

// binTable is one LF's conditional table in a binary problem:
// [t][v] = P(λ = v−1 | Y = 2t−1), λ = −1 (votes against), 0 (abstains),
// +1 (votes for).
type binTable [2][3]float64

// tripletModel is FlyingSquid's triplet method (Fu et al., ICML 2020) for
// conditionally independent LFs, in closed form. Binary: votes become
// λ ∈ {−1, 0, +1} (class 1 is +1, abstain 0); with M_ij = E[λ_i·λ_j] over
// all rows, |E[λ_i·Y]| = sqrt(|M_ij·M_il / M_jl|), averaged over every pair
// (j, l) of other LFs (FlyingSquid's triplet_mean; a pair with M_jl = 0
// counts as 0), signs all positive (each LF beats random). With abstains
// independent of Y, P(λ_i·Y = 1) = (1 + E[λ_i·Y] − P(λ_i = 0))/2, which with
// P(λ_i = 1) and the class balance fixes the joint table of (λ_i, Y);
// negative entries are flipped (FlyingSquid's flip_negative). Prediction is
// exact inference in that model: P(Y | λ) ∝ P(Y)·Π_i P(λ_i | Y).
//
// For k > 2 the method is run one-vs-rest: problem c has λ = +1 where the LF
// votes c, −1 where it votes another class, 0 where it abstains, and
// Y_c = +1 iff Y = c; a row's class probabilities are the k problems'
// P(Y_c = +1 | λ) normalized to sum to 1. This is dawn's extension;
// FlyingSquid itself is binary.
type tripletModel struct {
	header
	opt    Options
	p      []float64    // class balance
	tables [][]binTable // [problem][lf]
}

func (m *tripletModel) Method() string { return Triplet }

func (m *tripletModel) Fit(ctx context.Context, x *label.Matrix) error {
	return fitMatrix(ctx, m, x, needsPatterns(m.opt), m.opt.Workers)
}

// FitStats computes the second moments of every binary problem from the
// overlap counts and solves the triplets.
func (m *tripletModel) FitStats(ctx context.Context, s *Stats) error {
	if s.M < 3 {
		return fmt.Errorf("labelmodel: fit triplet: %d LFs; the triplet method needs at least 3", s.M)
	}
	if s.N == 0 {
		return fmt.Errorf("labelmodel: fit triplet: label matrix has no rows")
	}
	// Uniform unless told otherwise: the triplet tables lean on the prior
	// harder than Snorkel's fit does, and an estimate from the votes cost
	// it 0.09 accuracy on the YouTube tutorial LFs (0.848 → 0.756). A
	// uniform prior on imbalanced-looking votes still draws the warning.
	opt := m.opt
	if opt.ClassBalance == nil && opt.DevLabels == nil {
		opt.UniformPrior = true
	}
	p, source, warn, err := classBalance(ctx, opt, s)
	if err != nil {
		return fmt.Errorf("labelmodel: fit triplet: %w", err)
	}
	k, nm, d := s.K, s.M, s.D()
	n := float64(s.N)
	problems := []int{1}
	if k > 2 {
		problems = make([]int, k)
		for c := range problems {
			problems[c] = c
		}
	}
	m.tables = make([][]binTable, len(problems))
	mom := make([]float64, nm*nm)
	for pi, c := range problems {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("labelmodel: fit triplet: %w", err)
		}
		// M_ij = Σ_{a,b} sign(a)·sign(b)·Counts[i·k+a, j·k+b] / n.
		for i := 0; i < nm; i++ {
			for j := 0; j < nm; j++ {
				var sum int64
				for a := 0; a < k; a++ {
					row := s.Counts[(i*k+a)*d+j*k:]
					for b := 0; b < k; b++ {
						if (a == c) == (b == c) {
							sum += row[b]
						} else {
							sum -= row[b]
						}
					}
				}
				mom[i*nm+j] = float64(sum) / n
			}
		}
		py := p[c]
		tabs := make([]binTable, nm)
		for i := 0; i < nm; i++ {
			var acc float64
			var cnt int
			for j := 0; j < nm; j++ {
				if j == i {
					continue
				}
				for l := 0; l < j; l++ {
					if l == i {
						continue
					}
					cnt++
					if mjl := mom[j*nm+l]; mjl != 0 {
						acc += math.Sqrt(math.Abs(mom[i*nm+j] * mom[i*nm+l] / mjl))
					}
				}
			}
			ey := acc / float64(cnt) // E[λ_i·Y]
			z := 1 - float64(s.Votes[i])/n
			pPos := float64(s.Counts[(i*k+c)*d+i*k+c]) / n // P(λ_i = +1)
			agree := 0.5 * (1 + ey - z)                    // P(λ_i·Y = 1)
			x := (agree - (1-py)*(1-z) + pPos) / 2         // P(λ=+1, Y=+1)
			joint := binTable{
				{math.Abs(agree - x), z * (1 - py), math.Abs(pPos - x)}, // Y = −1
				{math.Abs(py*(1-z) - x), z * py, math.Abs(x)},           // Y = +1
			}
			for t := range joint {
				var sum float64
				for _, v := range joint[t] {
					sum += v
				}
				for v := range joint[t] {
					if sum > 0 {
						tabs[i][t][v] = joint[t][v] / sum
					} else {
						tabs[i][t][v] = 1.0 / 3
					}
				}
			}
		}
		m.tables[pi] = tabs
	}
	m.header = header{lfs: s.LFs, classes: s.Classes, warnings: warn, prior: source}
	m.p = p
	return nil
}

// logTables are a binary problem's log-likelihood ratios against
// abstaining, [lf][t][v] = log P(λ=v−1 | t) − log P(λ=0 | t), and
// base[t] = log P(Y_c = t) + Σ_lf log P(λ_lf = 0 | t): a row starts from
// "all abstain" and swaps in its votes.
type logTables struct {
	delta [][2][3]float64
	base  [2]float64
}

func newLogTables(tabs []binTable, py float64) *logTables {
	lt := &logTables{delta: make([][2][3]float64, len(tabs))}
	lt.base = [2]float64{math.Log(1 - py), math.Log(py)}
	for i, tb := range tabs {
		for t := 0; t < 2; t++ {
			la := safeLog(tb[t][1])
			lt.base[t] += la
			for v := 0; v < 3; v++ {
				lt.delta[i][t][v] = safeLog(tb[t][v]) - la
			}
		}
	}
	return lt
}

// posterior returns P(Y_c = +1 | λ) for problem c, given the row's votes.
func (lt *logTables) posterior(c int, lfs, votes []int32) float64 {
	lp0, lp1 := lt.base[0], lt.base[1]
	for q, l := range lfs {
		v := 0
		if int(votes[q]) == c {
			v = 2
		}
		d := &lt.delta[l]
		lp0 += d[0][v]
		lp1 += d[1][v]
	}
	return 1 / (1 + math.Exp(lp0-lp1))
}

// PredictProba: binary, P(Y = 1 | λ); k > 2, the one-vs-rest posteriors
// normalized.
func (m *tripletModel) PredictProba(x *label.Matrix) ([]float64, error) {
	if err := m.check(Triplet, x); err != nil {
		return nil, err
	}
	k := x.K()
	lts := make([]*logTables, len(m.tables))
	for pi, tabs := range m.tables {
		c := pi
		if k == 2 {
			c = 1
		}
		lts[pi] = newLogTables(tabs, m.p[c])
	}
	return predictRows(x, k, m.opt.Workers, func(lfs, votes []int32, dst []float64) {
		if k == 2 {
			q := lts[0].posterior(1, lfs, votes)
			dst[0], dst[1] = 1-q, q
			return
		}
		var z float64
		for c := 0; c < k; c++ {
			dst[c] = lts[c].posterior(c, lfs, votes)
			z += dst[c]
		}
		for c := range dst {
			if z > 0 {
				dst[c] /= z
			} else {
				dst[c] = 1 / float64(k)
			}
		}
	}), nil
}

func (m *tripletModel) Predict(x *label.Matrix, policy TieBreak, seed uint64) ([]int, error) {
	return predictWith(m, x, policy, seed)
}

// LFAccuracies is P(λ_i = Y | λ_i votes) under the fitted tables: binary,
// Σ_t P(Y=t)·P(λ_i=t | Y=t) / Σ_t P(Y=t)·P(λ_i≠0 | Y=t); k > 2,
// Σ_c P(Y=c)·P(λ_i^c = +1 | Y_c = +1) / Σ_c P(Y=c)·P(λ_i^c ≠ 0 | Y_c = +1).
func (m *tripletModel) LFAccuracies() []float64 {
	if m.tables == nil {
		return nil
	}
	nm := len(m.lfs)
	out := make([]float64, nm)
	k := len(m.p)
	for i := range out {
		if k == 2 {
			tb := m.tables[0][i]
			pt := [2]float64{m.p[0], m.p[1]}
			num := pt[0]*tb[0][0] + pt[1]*tb[1][2]
			den := pt[0]*(1-tb[0][1]) + pt[1]*(1-tb[1][1])
			if den > 0 {
				out[i] = num / den
			}
			continue
		}
		var num, den float64
		for c := 0; c < k; c++ {
			num += m.p[c] * m.tables[c][i][1][2]
			den += m.p[c] * (1 - m.tables[c][i][1][1])
		}
		if den > 0 {
			out[i] = min(num/den, 1)
		}
	}
	return out
}

func (m *tripletModel) ClassBalance() []float64 { return m.p }

func (m *tripletModel) Save(w io.Writer) error {
	tabs := make([][][][]float64, len(m.tables))
	for c, prob := range m.tables {
		tabs[c] = make([][][]float64, len(prob))
		for i := range prob {
			tabs[c][i] = [][]float64{prob[i][0][:], prob[i][1][:]}
		}
	}
	return saveModel(w, &savedModel{Method: Triplet, LFs: m.lfs, Classes: m.classes,
		ClassBalance: m.p, Tables: tabs})
}
