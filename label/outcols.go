package label

import (
	"slices"
	"strings"
)

// OutputColumns names the columns a labels file adds to the data's own:
// one probability column per class, the argmax label and the number of
// LFs that voted on the row.
type OutputColumns struct {
	Probs []string // prob_<class>, in class order
	Label string   // label
	Votes string   // votes (0: no LF voted; training drops such rows)
}

// Prefix is put before an output column's name, as often as needed, when
// the data already has a column of that name, so that a gold column
// called `label` (the most common name) survives beside the model's.
const Prefix = "lm_"

// OutputNames returns the output columns for classes that clash with none
// of the input columns: prob_<class>, label and votes, each prefixed with
// Prefix until it is unique ignoring case (a `Label` column
// moves the output to lm_label, for readers that ignore case).
func OutputNames(input, classes []string) OutputColumns {
	taken := slices.Clone(input)
	name := func(base string) string {
		for slices.ContainsFunc(taken, func(t string) bool { return strings.EqualFold(t, base) }) {
			base = Prefix + base
		}
		taken = append(taken, base)
		return base
	}
	var o OutputColumns
	for _, c := range classes {
		o.Probs = append(o.Probs, name("prob_"+c))
	}
	o.Label = name("label")
	o.Votes = name("votes")
	return o
}

// VoteCounts returns the number of LFs that voted on each row of x.
func (x *Matrix) VoteCounts() []int32 {
	out := make([]int32, x.N)
	for i := range out {
		out[i] = int32(x.RowPtr[i+1] - x.RowPtr[i])
	}
	return out
}
