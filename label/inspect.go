package label

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// What Inspect can show, the LF improvement loop's questions.
const (
	ShowFires     = "fires"     // rows the LF votes on
	ShowWrong     = "wrong"     // rows the LF votes on against the gold label
	ShowConflicts = "conflicts" // rows the LF votes on where another LF votes otherwise
	ShowAbstains  = "abstains"  // rows the LF does not vote on
	ShowUncovered = "uncovered" // rows no LF votes on
	ShowUncertain = "uncertain" // rows the label model is least sure of, least sure first
)

// Shows lists the values InspectSpec.Show accepts.
var Shows = []string{ShowFires, ShowWrong, ShowConflicts, ShowAbstains, ShowUncovered, ShowUncertain}

// InspectSpec selects rows of a label matrix for a person to read.
type InspectSpec struct {
	Show string
	LF   int   // LF index; needed by fires, wrong, conflicts and abstains; -1 for any
	Gold []int // gold class ids per row (-1: none); needed by wrong
	// Probs are the label model's n×k probabilities; needed by uncertain.
	Probs []float64
}

// Inspect returns the rows (0-based, in row order; for uncertain in order
// of the label model's top probability, lowest first) that spec selects.
func Inspect(x *Matrix, spec InspectSpec) ([]int, error) {
	if !slices.Contains(Shows, spec.Show) {
		return nil, fmt.Errorf("label: inspect: show %q is not one of %s", spec.Show, strings.Join(Shows, ", "))
	}
	needLF := spec.Show != ShowUncovered && spec.Show != ShowUncertain
	if needLF && (spec.LF < 0 || spec.LF >= x.M()) {
		return nil, fmt.Errorf("label: inspect: %s needs an LF", spec.Show)
	}
	if spec.Show == ShowWrong && len(spec.Gold) != x.N {
		return nil, fmt.Errorf("label: inspect: wrong needs a gold label per row (%d for %d rows)", len(spec.Gold), x.N)
	}
	k := x.K()
	if spec.Show == ShowUncertain && len(spec.Probs) != x.N*k {
		return nil, fmt.Errorf("label: inspect: uncertain needs the label model's probabilities (%d for %d rows × %d classes)", len(spec.Probs), x.N, k)
	}
	var rows []int
	for i := 0; i < x.N; i++ {
		lfs, votes := x.Row(i)
		vote := Abstain
		if spec.LF >= 0 {
			vote = x.At(i, spec.LF)
		}
		var ok bool
		switch spec.Show {
		case ShowFires:
			ok = vote != Abstain
		case ShowWrong:
			ok = vote != Abstain && spec.Gold[i] >= 0 && vote != spec.Gold[i]
		case ShowConflicts:
			if vote != Abstain {
				for q := range lfs {
					if int(votes[q]) != vote {
						ok = true
						break
					}
				}
			}
		case ShowAbstains:
			ok = vote == Abstain
		case ShowUncovered:
			ok = len(lfs) == 0
		case ShowUncertain:
			ok = spec.LF < 0 || vote != Abstain
		}
		if ok {
			rows = append(rows, i)
		}
	}
	if spec.Show == ShowUncertain {
		top := func(i int) float64 { return slices.Max(spec.Probs[i*k : (i+1)*k]) }
		slices.SortStableFunc(rows, func(a, b int) int { return cmp.Compare(top(a), top(b)) })
	}
	return rows, nil
}
