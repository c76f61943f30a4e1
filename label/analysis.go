package label

import (
	"fmt"
	"math"
	"sort"
)

// LFSummary is one LF's row of the analysis, with Snorkel's LFAnalysis
// definitions. Fractions are over all rows of the matrix.
type LFSummary struct {
	Name     string `json:"name"`
	Polarity []int  `json:"polarity"` // sorted class ids the LF emitted
	// PolarityNames are the class names of Polarity.
	PolarityNames []string `json:"polarity_names"`
	Coverage      float64  `json:"coverage"`
	Overlaps      float64  `json:"overlaps"`
	Conflicts     float64  `json:"conflicts"`
	// With gold labels (nil otherwise): votes equal to / different from
	// gold, and correct/(correct+incorrect) (0 when the LF never voted).
	Correct           *int     `json:"correct,omitempty"`
	Incorrect         *int     `json:"incorrect,omitempty"`
	EmpiricalAccuracy *float64 `json:"empirical_accuracy,omitempty"`
	// LearnedAccuracy is the label model's estimate, when one was fitted.
	LearnedAccuracy *float64 `json:"learned_accuracy,omitempty"`
}

// Analyze computes coverage, overlaps, conflicts and polarity for every LF.
func Analyze(x *Matrix) []LFSummary {
	m := x.M()
	cov := make([]int, m)
	ovl := make([]int, m)
	cnf := make([]int, m)
	pol := make([]map[int32]bool, m)
	for j := range pol {
		pol[j] = map[int32]bool{}
	}
	for i := 0; i < x.N; i++ {
		lfs, votes := x.Row(i)
		conflict := false
		for _, v := range votes[min(1, len(votes)):] {
			if v != votes[0] {
				conflict = true
				break
			}
		}
		for p, l := range lfs {
			cov[l]++
			if len(lfs) > 1 {
				ovl[l]++
			}
			if conflict {
				cnf[l]++
			}
			pol[l][votes[p]] = true
		}
	}
	out := make([]LFSummary, m)
	n := float64(x.N)
	frac := func(c int) float64 {
		if x.N == 0 {
			return 0
		}
		return float64(c) / n
	}
	for j := range out {
		s := LFSummary{Name: x.LFs[j], Polarity: []int{}, PolarityNames: []string{},
			Coverage: frac(cov[j]), Overlaps: frac(ovl[j]), Conflicts: frac(cnf[j])}
		for c := range pol[j] {
			s.Polarity = append(s.Polarity, int(c))
		}
		sort.Ints(s.Polarity)
		for _, c := range s.Polarity {
			s.PolarityNames = append(s.PolarityNames, x.Classes[c])
		}
		out[j] = s
	}
	return out
}

// AddGold fills Correct, Incorrect and EmpiricalAccuracy from gold labels
// for the rows of dev (a matrix of the same LFs over labeled rows). gold[i]
// is a class id, or -1 where the row has no gold label (skipped).
func AddGold(sum []LFSummary, dev *Matrix, gold []int) error {
	if len(gold) != dev.N {
		return fmt.Errorf("label: %d gold labels for %d rows", len(gold), dev.N)
	}
	if dev.M() != len(sum) {
		return fmt.Errorf("label: gold matrix has %d LFs, the analysis %d", dev.M(), len(sum))
	}
	corr := make([]int, len(sum))
	inc := make([]int, len(sum))
	for i := 0; i < dev.N; i++ {
		if gold[i] < 0 {
			continue
		}
		lfs, votes := dev.Row(i)
		for p, l := range lfs {
			if int(votes[p]) == gold[i] {
				corr[l]++
			} else {
				inc[l]++
			}
		}
	}
	for j := range sum {
		c, w := corr[j], inc[j]
		acc := 0.0
		if c+w > 0 {
			acc = float64(c) / float64(c+w)
		}
		sum[j].Correct, sum[j].Incorrect, sum[j].EmpiricalAccuracy = &c, &w, &acc
	}
	return nil
}

// AddLearned sets LearnedAccuracy from a label model's per-LF estimates
// (NaN entries are left unset).
func AddLearned(sum []LFSummary, acc []float64) {
	for j := range sum {
		if j < len(acc) && !math.IsNaN(acc[j]) {
			a := acc[j]
			sum[j].LearnedAccuracy = &a
		}
	}
}
