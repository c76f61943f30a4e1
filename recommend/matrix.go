package recommend

import (
	"runtime"
	"sort"
	"sync"
)

// CSR is a sparse matrix in compressed rows: row r holds columns
// Idx[Ptr[r]:Ptr[r+1]] (ascending) with values Val[...]. Duplicate events
// of one (row, column) are summed (implicit) or the latest kept (explicit).
type CSR struct {
	Rows, Cols int
	Ptr        []int
	Idx        []int32
	Val        []float64
}

// Row returns row r's columns and values (shared, do not modify).
func (m *CSR) Row(r int) ([]int32, []float64) {
	return m.Idx[m.Ptr[r]:m.Ptr[r+1]], m.Val[m.Ptr[r]:m.Ptr[r+1]]
}

// NNZ is the number of stored entries.
func (m *CSR) NNZ() int { return len(m.Idx) }

// UserItems builds the user × item matrix of x. Repeated (user, item)
// events are summed when sum is true (clicks add up) and the last one in
// file order is kept otherwise (a re-rating replaces the rating).
func (x *Interactions) UserItems(sum bool) *CSR {
	return buildCSR(x.NUsers(), x.NItems(), x.U, x.I, x.R, sum)
}

func buildCSR(rows, cols int, r, c []int32, v []float64, sum bool) *CSR {
	m := &CSR{Rows: rows, Cols: cols, Ptr: make([]int, rows+1)}
	for _, u := range r {
		m.Ptr[u+1]++
	}
	for i := 0; i < rows; i++ {
		m.Ptr[i+1] += m.Ptr[i]
	}
	idx := make([]int32, len(r))
	val := make([]float64, len(r))
	pos := append([]int(nil), m.Ptr[:rows]...)
	ord := make([]int, len(r)) // file order within a row, for "last wins"
	for e, u := range r {
		p := pos[u]
		idx[p], val[p], ord[p] = c[e], v[e], e
		pos[u]++
	}
	// Sort each row by column, merge duplicates.
	out := 0
	newPtr := make([]int, rows+1)
	for u := 0; u < rows; u++ {
		lo, hi := m.Ptr[u], m.Ptr[u+1]
		s := rowSorter{idx[lo:hi], val[lo:hi], ord[lo:hi]}
		sort.Stable(s)
		for p := lo; p < hi; p++ {
			if p > lo && idx[p] == idx[out-1] && out > newPtr[u] {
				if sum {
					val[out-1] += val[p]
				} else {
					val[out-1] = val[p] // stable sort keeps file order: the later event wins
				}
				continue
			}
			idx[out], val[out] = idx[p], val[p]
			out++
		}
		newPtr[u+1] = out
	}
	m.Ptr, m.Idx, m.Val = newPtr, idx[:out:out], val[:out:out]
	return m
}

type rowSorter struct {
	idx []int32
	val []float64
	ord []int
}

func (s rowSorter) Len() int           { return len(s.idx) }
func (s rowSorter) Less(i, j int) bool { return s.idx[i] < s.idx[j] }
func (s rowSorter) Swap(i, j int) {
	s.idx[i], s.idx[j] = s.idx[j], s.idx[i]
	s.val[i], s.val[j] = s.val[j], s.val[i]
	s.ord[i], s.ord[j] = s.ord[j], s.ord[i]
}

// Transpose returns the column-major copy (item × user for a user × item
// matrix).
func (m *CSR) Transpose() *CSR {
	t := &CSR{Rows: m.Cols, Cols: m.Rows, Ptr: make([]int, m.Cols+1), Idx: make([]int32, len(m.Idx)), Val: make([]float64, len(m.Val))}
	for _, c := range m.Idx {
		t.Ptr[c+1]++
	}
	for i := 0; i < m.Cols; i++ {
		t.Ptr[i+1] += t.Ptr[i]
	}
	pos := append([]int(nil), t.Ptr[:m.Cols]...)
	for r := 0; r < m.Rows; r++ {
		for p := m.Ptr[r]; p < m.Ptr[r+1]; p++ {
			c := m.Idx[p]
			q := pos[c]
			t.Idx[q], t.Val[q] = int32(r), m.Val[p]
			pos[c]++
		}
	}
	return t
}

// Parallel runs fn(lo, hi) over [0, n) in contiguous chunks on all cores.
// Each index is handled by exactly one call, so work that writes only its
// own rows is deterministic whatever the scheduling.
func Parallel(n int, fn func(lo, hi int)) {
	w := runtime.GOMAXPROCS(0)
	if w > n {
		w = n
	}
	if w <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	// Small chunks balance users with very different history lengths.
	chunk := (n + 8*w - 1) / (8 * w)
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				lo := next
				next += chunk
				mu.Unlock()
				if lo >= n {
					return
				}
				fn(lo, min(lo+chunk, n))
			}
		}()
	}
	wg.Wait()
}
