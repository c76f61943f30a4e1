package labelmodel

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/dawn-ml/dawn/label"
)

// dsModel is Dawid & Skene's (1979) EM: a class prior π and, per LF, a
// k×(k+1) confusion matrix θ_i[y][a] = P(LF i outputs a | Y = y) in which
// abstaining (a = k) is an observed outcome. EM starts from the
// majority-vote distribution of every row and runs over the table of
// distinct vote patterns, so an iteration costs O(patterns · votes · k).
// The EM itself is DawidSkeneEM, shared with package fuse.
type dsModel struct {
	header
	opt   Options
	prior []float64 // k
	theta []float64 // m·k·(k+1): theta[(i·k+y)·(k+1)+a]
	iters int
	p     *DSParams
}

func (m *dsModel) Method() string { return DawidSkene }

func (m *dsModel) Fit(ctx context.Context, x *label.Matrix) error {
	return fitMatrix(ctx, m, x, true, m.opt.Workers)
}

// logFloor stands in for log 0, so that outcomes EM found impossible stay
// (all but) impossible without producing NaN.
const logFloor = 1e-300

func safeLog(v float64) float64 { return math.Log(max(v, logFloor)) }

// cache builds the prediction tables from prior and theta (after a fit or
// a load).
func (m *dsModel) cache() {
	k := len(m.prior)
	m.p = &DSParams{K: k, M: len(m.theta) / (k * (k + 1)), AbstainObserved: true, Prior: m.prior, Theta: m.theta}
	m.p.cache()
}

// FitStats runs EM from the majority-vote start until the mean
// log-likelihood per row changes by less than Tol, or MaxIter iterations.
func (m *dsModel) FitStats(ctx context.Context, s *Stats) error {
	if s.Patterns == nil {
		return fmt.Errorf("labelmodel: fit dawid-skene: statistics lack the pattern table")
	}
	if s.N == 0 {
		return fmt.Errorf("labelmodel: fit dawid-skene: label matrix has no rows")
	}
	p, _, err := DawidSkeneEM(ctx, s.Patterns, s.M, s.K, DSOptions{AbstainObserved: true,
		MaxIter: m.opt.MaxIter, Tol: m.opt.Tol, Workers: m.opt.Workers})
	if err != nil {
		return fmt.Errorf("labelmodel: fit: %w", err)
	}
	m.header = header{lfs: s.LFs, classes: s.Classes}
	m.prior, m.theta, m.iters, m.p = p.Prior, p.Theta, p.Iters, p
	return nil
}

// PredictProba is the E-step on each row: P(Y | votes) ∝ π_y Π_i θ_i[y][a_i],
// abstains included.
func (m *dsModel) PredictProba(x *label.Matrix) ([]float64, error) {
	if err := m.check(DawidSkene, x); err != nil {
		return nil, err
	}
	k := x.K()
	return predictRows(x, k, m.opt.Workers, func(lfs, votes []int32, dst []float64) {
		var codes [64]int32
		cs := codes[:0]
		for q, l := range lfs {
			cs = append(cs, l*int32(k)+votes[q])
		}
		m.p.Posterior(cs, dst)
	}), nil
}

func (m *dsModel) Predict(x *label.Matrix, policy TieBreak, seed uint64) ([]int, error) {
	return predictWith(m, x, policy, seed)
}

// LFAccuracies is P(vote = Y | LF votes) under the model:
// Σ_y π_y θ_i[y][y] / Σ_y π_y (1 − θ_i[y][abstain]).
func (m *dsModel) LFAccuracies() []float64 {
	if m.prior == nil {
		return nil
	}
	if m.p == nil {
		m.cache()
	}
	return m.p.Accuracies()
}

func (m *dsModel) ClassBalance() []float64 { return m.prior }

func (m *dsModel) Save(w io.Writer) error {
	k := len(m.prior)
	nm := len(m.lfs)
	conf := make([][][]float64, nm)
	for i := range conf {
		conf[i] = make([][]float64, k)
		for y := range conf[i] {
			conf[i][y] = m.theta[(i*k+y)*(k+1) : (i*k+y+1)*(k+1)]
		}
	}
	return saveModel(w, &savedModel{Method: DawidSkene, LFs: m.lfs, Classes: m.classes,
		ClassBalance: m.prior, Confusion: conf})
}
