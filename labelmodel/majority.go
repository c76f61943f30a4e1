package labelmodel

import (
	"context"
	"fmt"
	"io"

	"github.com/dawn-ml/dawn/label"
)

// majorityModel is Snorkel's MajorityLabelVoter. It has no parameters; Fit
// only records the LFs and classes and the diagnostics below.
type majorityModel struct {
	header
	opt     Options
	acc     []float64
	balance []float64
}

func (m *majorityModel) Method() string { return Majority }

// Fit computes the diagnostics of FitStats in one parallel pass over the
// rows, without building the pattern table.
func (m *majorityModel) Fit(ctx context.Context, x *label.Matrix) error {
	if err := CheckMatrix(x); err != nil {
		return fmt.Errorf("labelmodel: fit majority: %w", err)
	}
	nm, k := x.M(), x.K()
	type part struct{ agree, bal, votes []float64 }
	parts := make([]part, numWorkers(x.N, m.opt.Workers))
	parallel(x.N, m.opt.Workers, func(t, lo, hi int) {
		p := part{make([]float64, nm), make([]float64, k), make([]float64, nm)}
		probs := make([]float64, k)
		for i := lo; i < hi; i++ {
			lfs, votes := x.Row(i)
			clear(probs)
			for _, v := range votes {
				probs[v]++
			}
			uniformTop(probs)
			for y, v := range probs {
				p.bal[y] += v
			}
			for q, l := range lfs {
				p.agree[l] += probs[votes[q]]
				p.votes[l]++
			}
		}
		parts[t] = p
	})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("labelmodel: fit majority: %w", err)
	}
	agree, bal, votes := parts[0].agree, parts[0].bal, parts[0].votes
	for _, p := range parts[1:] {
		for i := range agree {
			agree[i] += p.agree[i]
			votes[i] += p.votes[i]
		}
		for y := range bal {
			bal[y] += p.bal[y]
		}
	}
	m.finish(x.LFs, x.Classes, x.N, agree, votes, bal)
	return nil
}

// finish turns the sums into the recorded diagnostics.
func (m *majorityModel) finish(lfs, classes []string, n int, agree, votes, bal []float64) {
	for i := range agree {
		if votes[i] > 0 {
			agree[i] /= votes[i]
		}
	}
	for y := range bal {
		if n > 0 {
			bal[y] /= float64(n)
		} else {
			bal[y] = 1 / float64(len(bal))
		}
	}
	m.header = header{lfs: lfs, classes: classes}
	m.acc, m.balance = agree, bal
}

// FitStats records, as the model's analogues of learned parameters, each
// LF's agreement with the majority vote (the expected fraction of its votes
// that match the MV label, the MV label being a distribution on ties) and
// the mean MV distribution over the rows (class balance). Both are measured
// against MV's own labels, so they are biased towards the majority.
func (m *majorityModel) FitStats(ctx context.Context, s *Stats) error {
	if s.Patterns == nil {
		return fmt.Errorf("labelmodel: fit majority: statistics lack the pattern table")
	}
	k := s.K
	agree := make([]float64, s.M)
	bal := make([]float64, k)
	probs := make([]float64, k)
	for p := 0; p < s.Patterns.Len(); p++ {
		codes := s.Patterns.Row(p)
		majorityRow(codes, k, probs)
		c := float64(s.Patterns.Count[p])
		for y, v := range probs {
			bal[y] += c * v
		}
		for _, code := range codes {
			agree[int(code)/k] += c * probs[int(code)%k]
		}
	}
	votes := make([]float64, s.M)
	for i, v := range s.Votes {
		votes[i] = float64(v)
	}
	m.finish(s.LFs, s.Classes, s.N, agree, votes, bal)
	return nil
}

// majorityRow writes MV's distribution for one row given its codes
// (lf·k + vote): uniform over the classes with the most votes; a row with no
// votes ties all classes.
func majorityRow(codes []int32, k int, dst []float64) {
	clear(dst)
	for _, c := range codes {
		dst[int(c)%k]++
	}
	uniformTop(dst)
}

// uniformTop turns vote counts into the uniform distribution over the
// classes with the highest count.
func uniformTop(dst []float64) {
	mx := dst[0]
	for _, v := range dst[1:] {
		mx = max(mx, v)
	}
	var top float64
	for y, v := range dst {
		if v == mx {
			dst[y] = 1
			top++
		} else {
			dst[y] = 0
		}
	}
	for y := range dst {
		dst[y] /= top
	}
}

func (m *majorityModel) PredictProba(x *label.Matrix) ([]float64, error) {
	if err := m.check(Majority, x); err != nil {
		return nil, err
	}
	k := x.K()
	return predictRows(x, k, m.opt.Workers, func(_, votes []int32, dst []float64) {
		majorityVotes(votes, dst)
	}), nil
}

// majorityVotes writes MV's distribution for one row given its votes
// (class ids): uniform over the classes with the most votes.
func majorityVotes(votes []int32, dst []float64) {
	clear(dst)
	for _, v := range votes {
		dst[v]++
	}
	uniformTop(dst)
}

func (m *majorityModel) Predict(x *label.Matrix, policy TieBreak, seed uint64) ([]int, error) {
	return predictWith(m, x, policy, seed)
}

func (m *majorityModel) LFAccuracies() []float64 { return m.acc }
func (m *majorityModel) ClassBalance() []float64 { return m.balance }

func (m *majorityModel) Save(w io.Writer) error {
	return saveModel(w, &savedModel{Method: Majority, LFs: m.lfs, Classes: m.classes,
		ClassBalance: m.balance, LFAccuracies: m.acc})
}

// predictWith is the shared Predict: PredictProba then ProbsToPreds.
func predictWith(m Model, x *label.Matrix, policy TieBreak, seed uint64) ([]int, error) {
	p, err := m.PredictProba(x)
	if err != nil {
		return nil, err
	}
	return ProbsToPreds(p, len(m.Classes()), policy, seed)
}
