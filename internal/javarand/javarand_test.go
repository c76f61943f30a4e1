package javarand

import "testing"

// The JDK's documented algorithm gives these for new Random(0) and
// new Random(42); the values are the well-known outputs of OpenJDK.
func TestMatchesJDK(t *testing.T) {
	if got := New(0).Int(); got != -1155484576 {
		t.Errorf("new Random(0).nextInt() = %d, want -1155484576", got)
	}
	if got := New(0).Float64(); got != 0.730967787376657 {
		t.Errorf("new Random(0).nextDouble() = %v, want 0.730967787376657", got)
	}
	if got := New(42).Intn(10); got != 0 {
		t.Errorf("new Random(42).nextInt(10) = %d, want 0", got)
	}
}

func TestShuffleIsAPermutation(t *testing.T) {
	s := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	Shuffle(s, New(7))
	seen := map[int]bool{}
	for _, v := range s {
		seen[v] = true
	}
	if len(seen) != 10 {
		t.Fatalf("not a permutation: %v", s)
	}
}
