package recommend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Split returns the event indices of a train/test split.
type Split struct{ Train, Test []int }

// StratifiedSplit splits every user's events at random: round(n × (1 −
// testFraction)) of a user's n events (rounding half to even, as Python's
// round does) go to train, the rest to test, as Microsoft Recommenders'
// python_stratified_split does. A user with a single event keeps it in
// train. Both index lists are ascending (file order). Deterministic in seed.
func StratifiedSplit(x *Interactions, testFraction float64, seed uint64) (Split, error) {
	if err := checkFraction(testFraction); err != nil {
		return Split{}, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x7265636f6d6d656e)) // "recommen"
	byUser := eventsByUser(x)
	var s Split
	for _, ev := range byUser {
		rng.Shuffle(len(ev), func(i, j int) { ev[i], ev[j] = ev[j], ev[i] })
		nt := trainCount(len(ev), testFraction)
		s.Train = append(s.Train, ev[:nt]...)
		s.Test = append(s.Test, ev[nt:]...)
	}
	sort.Ints(s.Train)
	sort.Ints(s.Test)
	return s, nil
}

// ChronoSplit splits every user's events by time: the earliest round(n ×
// (1 − testFraction)) go to train, the latest to test (Microsoft
// Recommenders' python_chrono_split). Equal times keep file order.
func ChronoSplit(x *Interactions, testFraction float64) (Split, error) {
	if err := checkFraction(testFraction); err != nil {
		return Split{}, err
	}
	if x.T == nil {
		return Split{}, fmt.Errorf("recommend: split by time needs a time column")
	}
	var s Split
	for _, ev := range eventsByUser(x) {
		sort.SliceStable(ev, func(a, b int) bool { return x.T[ev[a]] < x.T[ev[b]] })
		nt := trainCount(len(ev), testFraction)
		s.Train = append(s.Train, ev[:nt]...)
		s.Test = append(s.Test, ev[nt:]...)
	}
	sort.Ints(s.Train)
	sort.Ints(s.Test)
	return s, nil
}

func checkFraction(f float64) error {
	if !(f > 0 && f < 1) {
		return fmt.Errorf("recommend: split: test fraction %v must be between 0 and 1", f)
	}
	return nil
}

func trainCount(n int, testFraction float64) int {
	nt := int(math.RoundToEven(float64(n) * (1 - testFraction)))
	if nt < 1 {
		nt = 1
	}
	return min(nt, n)
}

// eventsByUser lists each user's event indices in file order.
func eventsByUser(x *Interactions) [][]int {
	out := make([][]int, x.NUsers())
	for e, u := range x.U {
		out[u] = append(out[u], e)
	}
	return out
}

// RandomSplit splits all events at random regardless of user (Microsoft
// Recommenders' python_random_split): round(n × (1 − testFraction)) events
// go to train. Both index lists are ascending. Deterministic in seed.
func RandomSplit(x *Interactions, testFraction float64, seed uint64) (Split, error) {
	if err := checkFraction(testFraction); err != nil {
		return Split{}, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x72616e646f6d)) // "random"
	perm := rng.Perm(x.Len())
	nt := trainCount(x.Len(), testFraction)
	s := Split{Train: perm[:nt], Test: perm[nt:]}
	sort.Ints(s.Train)
	sort.Ints(s.Test)
	return s, nil
}
