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
type dsModel struct {
	header
	opt   Options
	prior []float64 // k
	theta []float64 // m·k·(k+1): theta[(i·k+y)·(k+1)+a]
	iters int

	// prediction caches, from cache()
	logBase  []float64 // k: log π_y + Σ_i log θ_i[y][abstain]
	logDelta []float64 // (m·k)·k: [(i·k+a)·k+y] = log θ_i[y][a] − log θ_i[y][abstain]
}

func (m *dsModel) Method() string { return DawidSkene }

func (m *dsModel) Fit(ctx context.Context, x *label.Matrix) error {
	return fitMatrix(ctx, m, x, true, m.opt.Workers)
}

// logFloor stands in for log 0, so that outcomes EM found impossible stay
// (all but) impossible without producing NaN.
const logFloor = 1e-300

func safeLog(v float64) float64 { return math.Log(max(v, logFloor)) }

func (m *dsModel) cache() {
	k := len(m.prior)
	nm := len(m.theta) / (k * (k + 1))
	m.logBase = make([]float64, k)
	m.logDelta = make([]float64, nm*k*k)
	for y := 0; y < k; y++ {
		m.logBase[y] = safeLog(m.prior[y])
	}
	for i := 0; i < nm; i++ {
		for y := 0; y < k; y++ {
			row := m.theta[(i*k+y)*(k+1):]
			la := safeLog(row[k])
			m.logBase[y] += la
			for a := 0; a < k; a++ {
				m.logDelta[(i*k+a)*k+y] = safeLog(row[a]) - la
			}
		}
	}
}

// posterior writes P(Y | codes) into dst and returns log Σ_y P(Y=y, codes).
func (m *dsModel) posterior(codes []int32, dst []float64) float64 {
	k := len(dst)
	copy(dst, m.logBase)
	for _, c := range codes {
		row := m.logDelta[int(c)*k:]
		for y := range dst {
			dst[y] += row[y]
		}
	}
	mx := math.Inf(-1)
	for _, v := range dst {
		mx = max(mx, v)
	}
	var z float64
	for y, v := range dst {
		dst[y] = math.Exp(v - mx)
		z += dst[y]
	}
	for y := range dst {
		dst[y] /= z
	}
	return mx + math.Log(z)
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
	k, nm, tab := s.K, s.M, s.Patterns
	np := tab.Len()
	post := make([]float64, np*k)
	for p := 0; p < np; p++ {
		majorityRow(tab.Row(p), k, post[p*k:(p+1)*k])
	}
	m.header = header{lfs: s.LFs, classes: s.Classes}
	m.prior = make([]float64, k)
	m.theta = make([]float64, nm*k*(k+1))
	prev := math.Inf(-1)
	w := m.opt.Workers
	for it := 1; it <= m.opt.MaxIter; it++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("labelmodel: fit dawid-skene: %w", err)
		}
		m.mStep(tab, post, nm, k, w)
		m.cache()
		ll := m.eStep(tab, post, k, w) / float64(s.N)
		m.iters = it
		if math.IsNaN(ll) {
			return fmt.Errorf("labelmodel: fit dawid-skene: log-likelihood is NaN at iteration %d", it)
		}
		if math.Abs(ll-prev) < m.opt.Tol {
			break
		}
		prev = ll
	}
	return nil
}

// mStep sets π and θ from the pattern posteriors.
func (m *dsModel) mStep(tab *Patterns, post []float64, nm, k, workers int) {
	np := tab.Len()
	type acc struct{ w, c []float64 }
	parts := make([]acc, numWorkers(np, workers))
	parallel(np, workers, func(t, lo, hi int) {
		a := acc{w: make([]float64, k), c: make([]float64, nm*k*(k+1))}
		for p := lo; p < hi; p++ {
			cnt := float64(tab.Count[p])
			pp := post[p*k : (p+1)*k]
			for y, v := range pp {
				a.w[y] += cnt * v
			}
			for _, code := range tab.Row(p) {
				i, v := int(code)/k, int(code)%k
				for y, q := range pp {
					a.c[(i*k+y)*(k+1)+v] += cnt * q
				}
			}
		}
		parts[t] = a
	})
	wy := make([]float64, k)
	clear(m.theta)
	for _, a := range parts {
		for y, v := range a.w {
			wy[y] += v
		}
		for j, v := range a.c {
			m.theta[j] += v
		}
	}
	var total float64
	for _, v := range wy {
		total += v
	}
	for y := range wy {
		m.prior[y] = wy[y] / total
	}
	for i := 0; i < nm; i++ {
		for y := 0; y < k; y++ {
			row := m.theta[(i*k+y)*(k+1) : (i*k+y+1)*(k+1)]
			if wy[y] <= 0 {
				for a := range row {
					row[a] = 1 / float64(k+1)
				}
				continue
			}
			var voted float64
			for a := 0; a < k; a++ {
				voted += row[a]
			}
			row[k] = max(wy[y]-voted, 0)
			for a := range row {
				row[a] /= wy[y]
			}
		}
	}
}

// eStep recomputes the pattern posteriors and returns the log-likelihood.
func (m *dsModel) eStep(tab *Patterns, post []float64, k, workers int) float64 {
	np := tab.Len()
	parts := make([]float64, numWorkers(np, workers))
	parallel(np, workers, func(t, lo, hi int) {
		var s float64
		for p := lo; p < hi; p++ {
			s += float64(tab.Count[p]) * m.posterior(tab.Row(p), post[p*k:(p+1)*k])
		}
		parts[t] = s
	})
	var ll float64
	for _, s := range parts {
		ll += s
	}
	return ll
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
		m.posterior(cs, dst)
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
	k := len(m.prior)
	nm := len(m.theta) / (k * (k + 1))
	out := make([]float64, nm)
	for i := range out {
		var num, den float64
		for y := 0; y < k; y++ {
			row := m.theta[(i*k+y)*(k+1):]
			num += m.prior[y] * row[y]
			den += m.prior[y] * (1 - row[k])
		}
		if den > 0 {
			out[i] = num / den
		}
	}
	return out
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
