package labelmodel

import (
	"context"
	"fmt"
	"slices"

	"github.com/dawn-ml/dawn/label"
)

// Stats are the sufficient statistics of a label matrix, gathered in one
// parallel pass by ComputeStats. Every fit works from these alone, so the
// cost of an epoch or an EM iteration does not grow with the number of rows
// (Dawid–Skene grows with the number of distinct vote patterns, which is
// usually far smaller).
type Stats struct {
	N, M, K int      // rows, LFs, classes
	LFs     []string // LF names
	Classes []string // class names

	// Counts is the unnormalized overlap matrix of the one-hot indicator
	// matrix: with D = M·K and column a = lf·K + class, Counts[a·D+b] is the
	// number of rows where both indicator columns a and b are 1. Snorkel's O
	// is Counts/N. It is symmetric; LF i's own K×K block is diagonal.
	Counts []int64

	// Votes is the number of rows each LF votes on; Coverage = Votes/N.
	Votes []int64

	// Patterns is the table of distinct rows (vote patterns) with their
	// counts, in order of first appearance. Nil when not requested.
	Patterns *Patterns
}

// Patterns is a compressed table of the distinct vote patterns of a label
// matrix. Pattern p's votes are the one-hot column indices
// Code[Ptr[p]:Ptr[p+1]] (lf·K + class, increasing); it occurs Count[p] times.
type Patterns struct {
	Ptr   []int64
	Code  []int32
	Count []int64
}

// Len is the number of distinct patterns.
func (t *Patterns) Len() int { return len(t.Count) }

// Row returns pattern p's codes (aliasing the table).
func (t *Patterns) Row(p int) []int32 { return t.Code[t.Ptr[p]:t.Ptr[p+1]] }

// D is the width of the one-hot indicator matrix, M·K.
func (s *Stats) D() int { return s.M * s.K }

// Overlap returns Snorkel's O = indicatorᵀ·indicator / N as a dense D×D
// row-major matrix.
func (s *Stats) Overlap() []float64 {
	o := make([]float64, len(s.Counts))
	if s.N == 0 {
		return o
	}
	for i, c := range s.Counts {
		o[i] = float64(c) / float64(s.N)
	}
	return o
}

// Coverage returns the fraction of rows each LF votes on.
func (s *Stats) Coverage() []float64 {
	c := make([]float64, s.M)
	for i, v := range s.Votes {
		if s.N > 0 {
			c[i] = float64(v) / float64(s.N)
		}
	}
	return c
}

// StatsOptions tune ComputeStats.
type StatsOptions struct {
	Workers  int  // parallel workers; 0 means GOMAXPROCS
	Patterns bool // also build the distinct-pattern table
}

// CheckMatrix reports whether x is a well-formed label matrix: consistent
// CSR arrays, LF indices in range and increasing within a row, votes that
// are class ids.
func CheckMatrix(x *label.Matrix) error {
	if err := checkMatrix(x); err != nil {
		return fmt.Errorf("labelmodel: %w", err)
	}
	return nil
}

func checkMatrix(x *label.Matrix) error {
	if x == nil {
		return fmt.Errorf("nil label matrix")
	}
	m, k := x.M(), x.K()
	if k < 2 {
		return fmt.Errorf("label matrix has %d classes, need at least 2", k)
	}
	if m == 0 {
		return fmt.Errorf("label matrix has no LFs")
	}
	if x.N < 0 || len(x.RowPtr) != x.N+1 {
		return fmt.Errorf("label matrix has %d rows but %d row pointers", x.N, len(x.RowPtr))
	}
	if len(x.LF) != len(x.Vote) {
		return fmt.Errorf("label matrix has %d LF indices but %d votes", len(x.LF), len(x.Vote))
	}
	if x.RowPtr[0] != 0 || x.RowPtr[x.N] != int64(len(x.LF)) {
		return fmt.Errorf("label matrix row pointers span [%d, %d), want [0, %d)", x.RowPtr[0], x.RowPtr[x.N], len(x.LF))
	}
	for i := 0; i < x.N; i++ {
		a, b := x.RowPtr[i], x.RowPtr[i+1]
		if b < a {
			return fmt.Errorf("label matrix row %d: row pointers decrease", i)
		}
		prev := int32(-1)
		for p := a; p < b; p++ {
			l, v := x.LF[p], x.Vote[p]
			if l <= prev || int(l) >= m {
				return fmt.Errorf("label matrix row %d: LF index %d out of order or not in 0..%d", i, l, m-1)
			}
			if v < 0 || int(v) >= k {
				return fmt.Errorf("label matrix row %d, LF %s: vote %d is not a class id in 0..%d", i, x.LFs[l], v, k-1)
			}
			prev = l
		}
	}
	return nil
}

// ComputeStats gathers the overlap counts, per-LF vote counts and (when
// asked) the distinct-pattern table of x in one pass over the rows, split
// into row ranges over opt.Workers goroutines. The pattern table is then
// deduplicated by hash shard, one shard per worker, from the row hashes that
// pass recorded; it does not depend on the number of workers.
func ComputeStats(ctx context.Context, x *label.Matrix, opt StatsOptions) (*Stats, error) {
	if err := CheckMatrix(x); err != nil {
		return nil, err
	}
	m, k := x.M(), x.K()
	d := m * k
	w := numWorkers(x.N, opt.Workers)
	var hashes []uint64
	if opt.Patterns {
		hashes = make([]uint64, x.N)
	}
	parts := make([]*statsPart, w)
	errs := make([]error, w)
	parallel(x.N, opt.Workers, func(t, lo, hi int) {
		p := &statsPart{counts: make([]int64, d*d), votes: make([]int64, m)}
		errs[t] = p.scan(ctx, x, lo, hi, k, d, hashes)
		parts[t] = p
	})
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("labelmodel: statistics: %w", err)
		}
	}
	s := &Stats{N: x.N, M: m, K: k, LFs: x.LFs, Classes: x.Classes, Counts: parts[0].counts, Votes: parts[0].votes}
	for _, p := range parts[1:] {
		for i, c := range p.counts {
			s.Counts[i] += c
		}
		for i, c := range p.votes {
			s.Votes[i] += c
		}
	}
	// Only the upper triangle (a ≤ b) was counted; mirror it.
	for a := 0; a < d; a++ {
		for b := a + 1; b < d; b++ {
			s.Counts[b*d+a] = s.Counts[a*d+b]
		}
	}
	if opt.Patterns {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("labelmodel: statistics: %w", err)
		}
		s.Patterns = patterns(x, hashes, w)
	}
	return s, nil
}

type statsPart struct {
	counts []int64
	votes  []int64
}

func (p *statsPart) scan(ctx context.Context, x *label.Matrix, lo, hi, k, d int, hashes []uint64) error {
	var codes []int32
	for i := lo; i < hi; i++ {
		if (i-lo)&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		a, b := x.RowPtr[i], x.RowPtr[i+1]
		codes = codes[:0]
		for q := a; q < b; q++ {
			l := x.LF[q]
			codes = append(codes, l*int32(k)+x.Vote[q])
			p.votes[l]++
		}
		for u, cu := range codes {
			row := p.counts[int(cu)*d:]
			for _, cv := range codes[u:] {
				row[cv]++
			}
		}
		if hashes != nil {
			hashes[i] = hashCodes(codes)
		}
	}
	return nil
}

func hashCodes(codes []int32) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range codes {
		h ^= uint64(uint32(c))
		h *= 1099511628211
		h ^= h >> 29
	}
	h ^= uint64(len(codes)) * 0x9e3779b97f4a7c15
	h ^= h >> 32
	return h * 0xff51afd7ed558ccd
}

// shard is one hash shard's distinct patterns: the first row showing each
// (increasing, as rows are visited in order) and its count.
type shard struct {
	first []int32
	count []int64
}

// patterns builds the distinct-pattern table: shard t dedups the rows whose
// hash is t mod w, comparing candidate rows directly in the matrix; the
// shards are then merged in order of first appearance.
func patterns(x *label.Matrix, hashes []uint64, w int) *Patterns {
	shards := make([]shard, w)
	parallel(w*1024, w, func(t, _, _ int) {
		index := make(map[uint64]int32)
		var next []int32 // next pattern id with the same hash, or -1
		sh := &shards[t]
		for i, h := range hashes {
			if h%uint64(w) != uint64(t) {
				continue
			}
			first, ok := index[h]
			found := false
			if ok {
				for id := first; id >= 0; id = next[id] {
					if sameRow(x, int(sh.first[id]), i) {
						sh.count[id]++
						found = true
						break
					}
				}
			}
			if found {
				continue
			}
			id := int32(len(sh.first))
			sh.first = append(sh.first, int32(i))
			sh.count = append(sh.count, 1)
			if ok {
				next = append(next, first)
			} else {
				next = append(next, -1)
			}
			index[h] = id
		}
	})
	total := 0
	for _, sh := range shards {
		total += len(sh.first)
	}
	pat := &Patterns{Ptr: make([]int64, 1, total+1), Count: make([]int64, 0, total)}
	pos := make([]int, w)
	k := int32(x.K())
	for range total {
		best := -1
		for t, sh := range shards {
			if pos[t] < len(sh.first) && (best < 0 || sh.first[pos[t]] < shards[best].first[pos[best]]) {
				best = t
			}
		}
		r := int(shards[best].first[pos[best]])
		lfs, votes := x.Row(r)
		for q, l := range lfs {
			pat.Code = append(pat.Code, l*k+votes[q])
		}
		pat.Ptr = append(pat.Ptr, int64(len(pat.Code)))
		pat.Count = append(pat.Count, shards[best].count[pos[best]])
		pos[best]++
	}
	return pat
}

func sameRow(x *label.Matrix, i, j int) bool {
	li, vi := x.Row(i)
	lj, vj := x.Row(j)
	return slices.Equal(li, lj) && slices.Equal(vi, vj)
}
