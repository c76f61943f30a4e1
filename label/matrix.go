package label

import (
	"fmt"
)

// Abstain is the vote of a labeling function that does not label a row.
const Abstain = -1

// Matrix is an n×m label matrix (n rows, m labeling functions) stored
// sparse in compressed-row form: row i's votes are LF[RowPtr[i]:RowPtr[i+1]]
// (LF indices, increasing) with the class ids in Vote at the same positions.
// Abstains are not stored.
type Matrix struct {
	N       int      // rows
	LFs     []string // LF names, m of them
	Classes []string // class names, k of them; class ids are indices
	RowPtr  []int64  // len N+1
	LF      []int32
	Vote    []int32
}

// M is the number of labeling functions.
func (x *Matrix) M() int { return len(x.LFs) }

// K is the number of classes.
func (x *Matrix) K() int { return len(x.Classes) }

// Row returns the LFs that voted on row i and their votes; the slices alias
// the matrix.
func (x *Matrix) Row(i int) (lfs, votes []int32) {
	a, b := x.RowPtr[i], x.RowPtr[i+1]
	return x.LF[a:b], x.Vote[a:b]
}

// At returns LF j's vote on row i, or Abstain.
func (x *Matrix) At(i, j int) int {
	lfs, votes := x.Row(i)
	for p, l := range lfs {
		if int(l) == j {
			return int(votes[p])
		}
	}
	return Abstain
}

// Dense returns the matrix as n rows of m votes, Abstain where an LF did
// not vote. Meant for tests and small matrices.
func (x *Matrix) Dense() [][]int {
	out := make([][]int, x.N)
	for i := range out {
		row := make([]int, x.M())
		for j := range row {
			row[j] = Abstain
		}
		lfs, votes := x.Row(i)
		for p, l := range lfs {
			row[l] = int(votes[p])
		}
		out[i] = row
	}
	return out
}

// FromDense builds a Matrix from rows of votes (Abstain for no vote). lfs
// and classes name the columns and class ids; nil names become "lf0"… and
// "0"….
func FromDense(rows [][]int, m int, lfs, classes []string, k int) (*Matrix, error) {
	if lfs == nil {
		for j := 0; j < m; j++ {
			lfs = append(lfs, fmt.Sprintf("lf%d", j))
		}
	}
	if classes == nil {
		for c := 0; c < k; c++ {
			classes = append(classes, fmt.Sprint(c))
		}
	}
	if len(lfs) != m || len(classes) != k {
		return nil, fmt.Errorf("label: %d LF names for %d LFs, %d class names for %d classes", len(lfs), m, len(classes), k)
	}
	x := &Matrix{N: len(rows), LFs: lfs, Classes: classes, RowPtr: make([]int64, 1, len(rows)+1)}
	for i, r := range rows {
		if len(r) != m {
			return nil, fmt.Errorf("label: row %d has %d votes, want %d", i, len(r), m)
		}
		for j, v := range r {
			if v == Abstain {
				continue
			}
			if v < 0 || v >= k {
				return nil, fmt.Errorf("label: row %d, LF %s: vote %d is not a class id in 0..%d or %d (abstain)", i, lfs[j], v, k-1, Abstain)
			}
			x.LF = append(x.LF, int32(j))
			x.Vote = append(x.Vote, int32(v))
		}
		x.RowPtr = append(x.RowPtr, int64(len(x.LF)))
	}
	return x, nil
}
