package labelmodel

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/dawn-ml/dawn/internal/logprob"
	"github.com/dawn-ml/dawn/label"
)

// snorkelModel is Snorkel v0.10's LabelModel (conditionally independent
// LFs, matrix completion on the overlap matrix), restated in float64.
type snorkelModel struct {
	header
	opt      Options
	mu       []float64 // (m·k) × k row-major: mu[(i·k+a)·k+y] = P(LF i votes a | Y = y)
	p        []float64 // class balance
	coverage []float64
	n        int
	loss     float64 // final loss, for diagnostics
}

func (m *snorkelModel) Method() string { return Snorkel }

func (m *snorkelModel) Fit(ctx context.Context, x *label.Matrix) error {
	return fitMatrix(ctx, m, x, needsPatterns(m.opt), m.opt.Workers)
}

// FitStats runs Snorkel's fit on the overlap matrix: class balance (see
// Options), init, Epochs full-batch optimizer steps,
// clamping to [ε, 1−ε] and the label-swap symmetry fix.
func (m *snorkelModel) FitStats(ctx context.Context, s *Stats) error {
	if s.M < 3 {
		return fmt.Errorf("labelmodel: fit snorkel: %d LFs; Snorkel's label model needs at least 3", s.M)
	}
	if s.N == 0 {
		return fmt.Errorf("labelmodel: fit snorkel: label matrix has no rows")
	}
	p, source, warn, err := classBalance(ctx, m.opt, s)
	if err != nil {
		return fmt.Errorf("labelmodel: fit snorkel: %w", err)
	}
	deps, err := m.dependencies(s)
	if err != nil {
		return fmt.Errorf("labelmodel: fit snorkel: %w", err)
	}
	f := &snorkelFit{m: s.M, k: s.K, d: s.D(), o: s.Overlap(), p: p, opt: m.opt, dep: depMask(s.M, deps)}
	if err := f.run(ctx); err != nil {
		return fmt.Errorf("labelmodel: fit snorkel: %w", err)
	}
	eps := m.opt.MuEps
	if eps == 0 {
		eps = min(0.01, math.Pow(10, -math.Ceil(math.Log10(float64(s.N)))))
	}
	for i, v := range f.mu {
		f.mu[i] = min(max(v, eps), 1-eps)
	}
	breakSymmetry(f.mu, p, s.M, s.K)
	contra := contradictions(f.mu, f.o, s.LFs, s.Classes, s.K)
	fallback := len(contra) > 0 && !m.opt.NoFallback
	for _, c := range contra {
		if fallback {
			c += "; the fit breaks the model's assumption that every LF beats random, so the labels come from majority vote (--fallback none keeps the fit)"
		} else {
			c += "; compare --method majority on a --valid file"
		}
		warn = append(warn, c)
	}
	m.header = header{lfs: s.LFs, classes: s.Classes, warnings: warn, prior: source, deps: describeDeps(deps, s.LFs, s.Classes), fallback: fallback}
	m.mu, m.p, m.coverage, m.n, m.loss = f.mu, p, s.Coverage(), s.N, f.loss
	return nil
}

// dependencies resolves Options' dependency preference: the given pairs,
// none, or those DetectDependencies finds, keeping (strongest first) only
// pairs that leave each LF at least two partners whose overlaps still
// inform its parameters.
func (m *snorkelModel) dependencies(s *Stats) ([]Dependency, error) {
	switch {
	case m.opt.IndependentLFs:
		return nil, nil
	case m.opt.Dependencies != nil:
		out := make([]Dependency, 0, len(m.opt.Dependencies))
		for _, pr := range m.opt.Dependencies {
			a, b := min(pr[0], pr[1]), max(pr[0], pr[1])
			if a < 0 || b >= s.M || a == b {
				return nil, fmt.Errorf("dependency (%d, %d) is not a pair of distinct LF indices in 0..%d", pr[0], pr[1], s.M-1)
			}
			out = append(out, Dependency{A: a, B: b, VoteA: -1})
		}
		return out, nil
	}
	cand := DetectDependencies(s)
	partners := make([]int, s.M) // LFs each one overlaps with, unmasked
	for a := 0; a < s.M; a++ {
		for b := 0; b < s.M; b++ {
			if a != b && overlaps(s, a, b) {
				partners[a]++
			}
		}
	}
	var out []Dependency
	for _, dp := range cand {
		if partners[dp.A] <= 2 || partners[dp.B] <= 2 {
			continue
		}
		partners[dp.A]--
		partners[dp.B]--
		out = append(out, dp)
	}
	return out, nil
}

// overlaps reports whether LFs a and b ever vote on the same row.
func overlaps(s *Stats, a, b int) bool {
	k, d := s.K, s.D()
	for x := a * k; x < a*k+k; x++ {
		for y := b * k; y < b*k+k; y++ {
			if s.Counts[x*d+y] > 0 {
				return true
			}
		}
	}
	return false
}

// depMask is the m×m mask of dependent pairs (nil when there are none).
func depMask(m int, deps []Dependency) []bool {
	if len(deps) == 0 {
		return nil
	}
	mask := make([]bool, m*m)
	for _, dp := range deps {
		mask[dp.A*m+dp.B], mask[dp.B*m+dp.A] = true, true
	}
	return mask
}

// contradictions warns about each LF whose fitted vote for a label it
// emits is evidence against that label: mu[a|a] < mu[a|y] for some y, so
// the vote lowers P(a). The model assumes every LF is better than random;
// a fit that breaks this usually means LFs that are dependent given the
// class (they co-fire on a kind of row), which conditional independence
// cannot express. On the YouTube tutorial LFs, keyword_link co-fires with
// short_comment (short link-only comments are spam) and is learned as
// anti-spam (bench/label/results/youtube-lf-patterns.txt).
func contradictions(mu, o []float64, lfs, classes []string, k int) []string {
	d := len(lfs) * k
	var out []string
	for i, name := range lfs {
		for a := 0; a < k; a++ {
			idx := i*k + a
			if o[idx*d+idx] == 0 { // never votes a
				continue
			}
			self := mu[idx*k+a]
			for y := 0; y < k; y++ {
				if y == a || mu[idx*k+y] <= self {
					continue
				}
				out = append(out, fmt.Sprintf("LF %s's %s vote is fitted as evidence against %s (likelihood ratio %.2f vs %s): the LFs may be dependent (co-firing on one kind of row)",
					name, classes[a], classes[a], self/mu[idx*k+y], classes[y]))
				break
			}
		}
	}
	return out
}

// snorkelFit holds one optimization of Snorkel's loss
//
//	‖(O − mu·P·muᵀ)[mask]‖² + ‖rowsum(mu·P) − diag(O)‖² + ‖l2·(mu − mu₀)‖²
//
// with P = diag(p) and the mask dropping each LF's own k×k block and the
// blocks of dependent LF pairs: as in Snorkel v0.9's LabelModel with
// dependencies (its mask drops the blocks of LFs in one clique), their
// co-occurrence is not explained by the class, so it cannot pull their
// accuracies.
type snorkelFit struct {
	m, k, d int
	o       []float64 // d×d
	dep     []bool    // m×m: dependent pairs, or nil
	p       []float64
	opt     Options
	mu0, mu []float64 // d×k
	loss    float64
}

// init sets mu₀[i·k+y, y] = clamp(O[idx,idx]·prec/p_y, 0, 1) and
// mu = mu₀ · u, u being numpy's first random_sample() after
// numpy.random.seed(seed), as in Snorkel.
func (f *snorkelFit) init() {
	d, k := f.d, f.k
	f.mu0 = make([]float64, d*k)
	for i := 0; i < f.m; i++ {
		for y := 0; y < k; y++ {
			idx := i*k + y
			f.mu0[idx*k+y] = min(max(f.o[idx*d+idx]*f.opt.PrecInit/f.p[y], 0), 1)
		}
	}
	u := newMT19937(uint32(f.opt.Seed)).float64()
	f.mu = make([]float64, d*k)
	for i, v := range f.mu0 {
		f.mu[i] = v * u
	}
}

// lossGrad returns the loss at mu and writes its gradient into g
// (including the optimizer's weight decay l2·mu, which Snorkel passes to
// torch on top of the l2 term in the loss).
func (f *snorkelFit) lossGrad(g, mp, r []float64) float64 {
	d, k, mu, p := f.d, f.k, f.mu, f.p
	for a := 0; a < d; a++ {
		for y := 0; y < k; y++ {
			mp[a*k+y] = mu[a*k+y] * p[y]
		}
	}
	// R = (O − mu·P·muᵀ) masked; symmetric.
	var loss1 float64
	for a := 0; a < d; a++ {
		ba := a / k
		mpa := mp[a*k : a*k+k]
		for b := 0; b < d; b++ {
			if bb := b / k; bb == ba || f.dep != nil && f.dep[ba*f.m+bb] {
				r[a*d+b] = 0
				continue
			}
			mub := mu[b*k : b*k+k]
			var s float64
			for y, v := range mpa {
				s += v * mub[y]
			}
			e := f.o[a*d+b] - s
			r[a*d+b] = e
			loss1 += e * e
		}
	}
	var loss2, lossL2 float64
	l2sq := f.opt.L2 * f.opt.L2
	for a := 0; a < d; a++ {
		var rs float64
		for y := 0; y < k; y++ {
			rs += mp[a*k+y]
		}
		e2 := rs - f.o[a*d+a]
		loss2 += e2 * e2
		ra := r[a*d : a*d+d]
		for y := 0; y < k; y++ {
			// ∂loss1/∂mu[a,y] = −4·p_y·Σ_b R[a,b]·mu[b,y]
			var s float64
			for b, v := range ra {
				if v != 0 {
					s += v * mu[b*k+y]
				}
			}
			diff := mu[a*k+y] - f.mu0[a*k+y]
			lossL2 += diff * diff
			g[a*k+y] = -4*p[y]*s + 2*e2*p[y] + 2*l2sq*diff + f.opt.L2*mu[a*k+y]
		}
	}
	return loss1 + loss2 + l2sq*lossL2
}

func (f *snorkelFit) run(ctx context.Context) error {
	f.init()
	n := len(f.mu)
	g, buf, v := make([]float64, n), make([]float64, n), make([]float64, n)
	mp, r := make([]float64, n), make([]float64, f.d*f.d)
	lr := f.opt.LR
	const beta1, beta2, adamEps = 0.9, 0.999, 1e-8
	for epoch := 0; epoch < f.opt.Epochs; epoch++ {
		if epoch&15 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		loss := f.lossGrad(g, mp, r)
		if math.IsNaN(loss) {
			return fmt.Errorf("loss is NaN at epoch %d; consider a lower learning rate", epoch)
		}
		f.loss = loss
		switch f.opt.Optimizer {
		case SGD: // torch.optim.SGD with momentum, no dampening, no Nesterov
			for i := range f.mu {
				if epoch == 0 {
					buf[i] = g[i]
				} else {
					buf[i] = f.opt.Momentum*buf[i] + g[i]
				}
				f.mu[i] -= lr * buf[i]
			}
		case Adam: // torch.optim.Adam, amsgrad off
			t := float64(epoch + 1)
			bc1, bc2 := 1-math.Pow(beta1, t), 1-math.Pow(beta2, t)
			for i := range f.mu {
				buf[i] = beta1*buf[i] + (1-beta1)*g[i]
				v[i] = beta2*v[i] + (1-beta2)*g[i]*g[i]
				f.mu[i] -= lr / bc1 * buf[i] / (math.Sqrt(v[i])/math.Sqrt(bc2) + adamEps)
			}
		}
	}
	return nil
}

// breakSymmetry applies Snorkel's fix for column-permutation symmetry:
// classes whose priors agree to 3 decimals form groups, and within a group
// the columns of mu are permuted to maximize Σ_LF Σ_y mu[i·k+y, y]·p_y
// (an assignment problem). Ties keep the identity.
func breakSymmetry(mu, p []float64, m, k int) {
	sum := make([]float64, k*k) // sum[r·k+c] = Σ_i mu[i·k+r, c]·p_c
	for i := 0; i < m; i++ {
		for r := 0; r < k; r++ {
			for c := 0; c < k; c++ {
				sum[r*k+c] += mu[(i*k+r)*k+c] * p[c]
			}
		}
	}
	var groups [][]int
	keys := map[float64]int{}
	for c, v := range p {
		key := math.RoundToEven(v*1000) / 1000
		g, ok := keys[key]
		if !ok {
			g = len(groups)
			keys[key] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], c)
	}
	perm := make([]int, k) // new column c takes old column perm[c]
	for c := range perm {
		perm[c] = c
	}
	for _, grp := range groups {
		if len(grp) == 1 {
			continue
		}
		// Giving new column grp[j] the old column grp[i] scores
		// sum[grp[j], grp[i]]; maximize over assignments i → j.
		cost := make([][]float64, len(grp))
		for i := range grp {
			cost[i] = make([]float64, len(grp))
			for j := range grp {
				cost[i][j] = -sum[grp[j]*k+grp[i]]
			}
		}
		as := assignMin(cost)
		var best, id float64
		for i, j := range as {
			best += cost[i][j]
			id += cost[i][i]
		}
		if id <= best+1e-12*math.Abs(best) {
			continue
		}
		for i, j := range as {
			perm[grp[j]] = grp[i]
		}
	}
	if slices.IsSorted(perm) {
		return
	}
	row := make([]float64, k)
	for a := 0; a < len(mu)/k; a++ {
		copy(row, mu[a*k:a*k+k])
		for c := range perm {
			mu[a*k+c] = row[perm[c]]
		}
	}
}

// assignMin solves the square assignment problem min Σ cost[i][as[i]]
// (Hungarian method with potentials, O(n³)).
func assignMin(cost [][]float64) []int {
	n := len(cost)
	inf := math.Inf(1)
	u, v := make([]float64, n+1), make([]float64, n+1)
	p, way := make([]int, n+1), make([]int, n+1) // p[j]: row (1-based) holding column j
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		minv := make([]float64, n+1)
		used := make([]bool, n+1)
		for j := range minv {
			minv[j] = inf
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], inf, 0
			for j := 1; j <= n; j++ {
				if used[j] {
					continue
				}
				cur := cost[i0-1][j-1] - u[i0] - v[j]
				if cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= n; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	as := make([]int, n)
	for j := 1; j <= n; j++ {
		as[p[j]-1] = j - 1
	}
	return as
}

// PredictProba: score_y = log p_y + Σ over the row's votes of
// log mu[i·k+vote, y], normalized; a row with no votes gets p. Abstains
// contribute nothing, as in Snorkel. A model whose fit contradicted an
// LF (Options.NoFallback) gives majority vote's probabilities instead.
func (m *snorkelModel) PredictProba(x *label.Matrix) ([]float64, error) {
	if err := m.check(Snorkel, x); err != nil {
		return nil, err
	}
	k := x.K()
	if m.fallback {
		return predictRows(x, k, m.opt.Workers, func(_, votes []int32, dst []float64) {
			majorityVotes(votes, dst)
		}), nil
	}
	logMu := make([]float64, len(m.mu))
	for i, v := range m.mu {
		logMu[i] = math.Log(v)
	}
	logP := make([]float64, k)
	for y, v := range m.p {
		logP[y] = math.Log(v)
	}
	return predictRows(x, k, m.opt.Workers, func(lfs, votes []int32, dst []float64) {
		copy(dst, logP)
		for q, l := range lfs {
			row := logMu[(int(l)*k+int(votes[q]))*k:]
			for y := range dst {
				dst[y] += row[y]
			}
		}
		logprob.Normalize(dst)
	}), nil
}

func (m *snorkelModel) Predict(x *label.Matrix, policy TieBreak, seed uint64) ([]int, error) {
	return predictWith(m, x, policy, seed)
}

// LFAccuracies is Snorkel's get_weights: Σ_y mu[i·k+y, y]·p_y / coverage_i,
// clipped to [1e-6, 1] (an LF that never voted gets 1, as numpy's inf
// clips).
func (m *snorkelModel) LFAccuracies() []float64 {
	if m.mu == nil {
		return nil
	}
	k := len(m.p)
	out := make([]float64, len(m.coverage))
	for i := range out {
		var s float64
		for y := 0; y < k; y++ {
			s += m.mu[(i*k+y)*k+y] * m.p[y]
		}
		if m.coverage[i] == 0 {
			out[i] = 1
			continue
		}
		out[i] = min(max(s/m.coverage[i], 1e-6), 1)
	}
	return out
}

func (m *snorkelModel) ClassBalance() []float64 { return m.p }

func (m *snorkelModel) Save(w io.Writer) error {
	k := len(m.p)
	rows := make([][]float64, len(m.mu)/max(k, 1))
	for a := range rows {
		rows[a] = m.mu[a*k : a*k+k]
	}
	s := &savedModel{Method: Snorkel, LFs: m.lfs, Classes: m.classes,
		ClassBalance: m.p, Coverage: m.coverage, Rows: m.n, Mu: rows}
	if m.fallback {
		s.Fallback = Majority
	}
	return saveModel(w, s)
}
