package video

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/dawn-ml/dawn/internal/shareddata"
)

var (
	vtOnce  sync.Once
	vtStore *Store
	vtBoxes Boxes
	vtErr   error
)

// vtest loads the pre-decoded 96×72 frames and OpenCV's cached
// full-body detections (the reference here).
func vtest(t *testing.T) (*Store, Boxes) {
	t.Helper()
	dir := shareddata.Require(t, "opencv-vtest")
	vtOnce.Do(func() {
		var fr Frames
		fr, vtErr = Open(context.Background(), filepath.Join(dir, "vtest_96x72_gray.raw"), "96x72")
		if vtErr != nil {
			return
		}
		defer fr.Close()
		if vtStore, vtErr = Load(context.Background(), fr, 96, 72, false, "", nil); vtErr != nil {
			return
		}
		vtBoxes, vtErr = ReadBoxes(filepath.Join(dir, "vtest_fullbody_opencv.csv"))
	})
	if vtErr != nil {
		t.Fatal(vtErr)
	}
	return vtStore, vtBoxes
}

func truthCounts(s *Store, b Boxes) []int {
	c := make([]int, s.N)
	for i := range c {
		c[i] = len(b[i])
	}
	return c
}

// Binary selections agree with the reference on ≥ 95 % of all frames.
func TestSelectionAgreesWithReference(t *testing.T) {
	s, b := vtest(t)
	truth := truthCounts(s, b)
	for _, k := range []int{6, 7} {
		q, err := ParseQuery("SELECT frame FROM video WHERE count(person) >= " + itoa(k))
		if err != nil {
			t.Fatal(err)
		}
		for seed := uint64(1); seed <= 3; seed++ {
			a, err := Run(t.Context(), s, &BoxesReference{Boxes: b, Seconds: 0.17}, q, QueryOptions{Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			acc := agreement(truth, k, a.FramesSelected)
			t.Logf(">= %d seed %d: agreement %.4f (planned %.4f), %d reference calls (%d training) of %d frames, speedup %.1f×, %s, plan %+v", k, seed, acc, a.Selection.ExpectedAgreement, a.ReferenceCalls, a.TrainingCalls, a.Frames, a.Speedup, a.Model, *a.Selection)
			if acc < 0.95 {
				t.Errorf(">= %d seed %d: agreement %.4f < 0.95", k, seed, acc)
			}
		}
	}
}

// TestSelectionSweep holds the accuracy target on seeds 1–20 and logs
// the spread of agreement and reference calls (docs/video.md quotes it).
func TestSelectionSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("20 seeds × 2 predicates")
	}
	s, b := vtest(t)
	truth := truthCounts(s, b)
	for _, k := range []int{6, 7} {
		q, _ := ParseQuery("SELECT frame FROM video WHERE count(person) >= " + itoa(k))
		var accs, calls, speed []float64
		for seed := uint64(1); seed <= 20; seed++ {
			a, err := Run(t.Context(), s, &BoxesReference{Boxes: b, Seconds: 0.17}, q, QueryOptions{Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			acc := agreement(truth, k, a.FramesSelected)
			if acc < 0.95 {
				t.Errorf(">= %d seed %d: agreement %.4f < 0.95", k, seed, acc)
			}
			accs, calls, speed = append(accs, acc), append(calls, float64(a.ReferenceCalls)), append(speed, a.Speedup)
		}
		slices.Sort(accs)
		slices.Sort(calls)
		slices.Sort(speed)
		t.Logf(">= %d, seeds 1-20: agreement min %.4f median %.4f max %.4f; reference calls min %.0f median %.0f max %.0f; speedup min %.2f median %.2f max %.2f",
			k, accs[0], (accs[9]+accs[10])/2, accs[19], calls[0], (calls[9]+calls[10])/2, calls[19], speed[0], (speed[9]+speed[10])/2, speed[19])
	}
}

// agreement is the share of frames on which selecting exactly the
// selected frames agrees with "count >= k".
func agreement(truth []int, k int, selected []int) float64 {
	sel := map[int]bool{}
	for _, i := range selected {
		sel[i] = true
	}
	agree := 0
	for i, c := range truth {
		if (c >= k) == sel[i] {
			agree++
		}
	}
	return float64(agree) / float64(len(truth))
}

func itoa(k int) string { return string(rune('0' + k)) }

// AVG(count): the 95 % interval holds the true mean in ≥ 95 % of 100
// seeded runs, with fewer reference calls than plain sampling needs.
func TestAggregateCoverage(t *testing.T) {
	s, b := vtest(t)
	truth := truthCounts(s, b)
	var mean float64
	for _, c := range truth {
		mean += float64(c)
	}
	mean /= float64(len(truth))
	q, err := ParseQuery("SELECT AVG(count(person)) FROM video ERROR WITHIN 0.1 AT CONFIDENCE 95%")
	if err != nil {
		t.Fatal(err)
	}
	runs := 100
	if testing.Short() {
		runs = 20
	}
	covered, calls, plain := 0, 0, 0
	for seed := 1; seed <= runs; seed++ {
		a, err := Run(t.Context(), s, &BoxesReference{Boxes: b, Seconds: 0.17}, q, QueryOptions{Seed: uint64(seed)})
		if err != nil {
			t.Fatal(err)
		}
		if a.CILow <= mean && mean <= a.CIHigh {
			covered++
		}
		calls += a.ReferenceCalls
		plain += a.PlainSamplingCalls
	}
	t.Logf("true mean %.4f; covered %d/%d; mean reference calls %.1f (training included), plain sampling %.1f", mean, covered, runs, float64(calls)/float64(runs), float64(plain)/float64(runs))
	if float64(covered) < 0.95*float64(runs)-1 {
		t.Errorf("coverage %d/%d", covered, runs)
	}
	if calls >= plain {
		t.Errorf("the control variate used %d reference calls over %d runs, plain sampling needs %d", calls, runs, plain)
	}
}

func TestLimitQuery(t *testing.T) {
	s, b := vtest(t)
	q, err := ParseQuery("SELECT frame FROM video WHERE count(person) >= 7 LIMIT 10")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Run(t.Context(), s, &BoxesReference{Boxes: b, Seconds: 0.17}, q, QueryOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.FramesSelected) != 10 {
		t.Fatalf("found %d frames", len(a.FramesSelected))
	}
	for _, i := range a.FramesSelected {
		if len(b[i]) < 7 {
			t.Errorf("frame %d has %d people", i, len(b[i]))
		}
	}
	t.Logf("LIMIT 10 with >= 7: %d reference calls (random scan: ~205)", a.ReferenceCalls)
	if a.ReferenceCalls >= 205 {
		t.Errorf("%d reference calls: no better than a random scan", a.ReferenceCalls)
	}
}
