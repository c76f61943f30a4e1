package labelmodel

import (
	"fmt"
	"math"
	"sort"
)

// Dependency is a pair of LFs whose votes are correlated in the direction
// conditional independence given the class rules out (see
// DetectDependencies).
type Dependency struct {
	A, B int // LF indices, A < B
	// VoteA and VoteB are the labels whose votes are correlated, and Phi
	// their correlation (the phi coefficient of the two vote indicators).
	VoteA, VoteB int
	Phi          float64
	// Z is Phi·sqrt(N), the correlation's distance from 0 in standard
	// errors under independence.
	Z float64
}

// Thresholds for DetectDependencies: a pair is flagged when its
// correlation is at least DepMinPhi and DepMinZ standard errors from 0.
const (
	DepMinPhi = 0.05
	DepMinZ   = 4
)

// DetectDependencies finds LF pairs that are dependent given the class,
// from the votes alone, for two classes. If LFs i and j are independent
// given Y and each is better than random (P(vote a | a) > P(vote a | other)),
// the covariance of "i votes a" and "j votes b" is
//
//	π₀·π₁·(P(i=a|a) − P(i=a|ā))·(P(j=b|b) − P(j=b|b̄))·(+1 if a = b, −1 if not)
//
// so LFs voting opposite labels co-fire less often than chance and LFs
// voting the same label more often. A pair whose correlation has the other
// sign, clearly (|phi| ≥ DepMinPhi and |phi|·sqrt(N) ≥ DepMinZ), breaks one
// of the two assumptions; dawn reads it as a dependency (on the YouTube
// tutorial LFs, keyword_link and short_comment co-fire on short link-only
// spam comments with phi 0.16). Pairs are returned strongest first; k ≠ 2
// returns nil (the sign argument needs two classes).
func DetectDependencies(s *Stats) []Dependency {
	if s.K != 2 || s.N == 0 {
		return nil
	}
	k, d := s.K, s.D()
	o := s.Overlap()
	var out []Dependency
	sqn := math.Sqrt(float64(s.N))
	for i := 0; i < s.M; i++ {
		for j := i + 1; j < s.M; j++ {
			best, score := Dependency{A: i, B: j}, 0.0
			for a := 0; a < k; a++ {
				ia := i*k + a
				pa := o[ia*d+ia]
				for b := 0; b < k; b++ {
					jb := j*k + b
					pb := o[jb*d+jb]
					v := pa * (1 - pa) * pb * (1 - pb)
					if v <= 0 {
						continue
					}
					phi := (o[ia*d+jb] - pa*pb) / math.Sqrt(v)
					wrong := phi // opposite votes: CI predicts phi < 0
					if a == b {
						wrong = -phi // same votes: CI predicts phi > 0
					}
					if wrong >= DepMinPhi && wrong*sqn >= DepMinZ && wrong > score {
						score = wrong
						best.VoteA, best.VoteB, best.Phi, best.Z = a, b, phi, phi*sqn
					}
				}
			}
			if best.Phi != 0 {
				out = append(out, best)
			}
		}
	}
	sort.SliceStable(out, func(x, y int) bool { return math.Abs(out[x].Phi) > math.Abs(out[y].Phi) })
	return out
}

// describeDeps describes dependencies with LF and class names.
func describeDeps(deps []Dependency, lfs, classes []string) []string {
	var out []string
	for _, dp := range deps {
		out = append(out, dp.describe(lfs, classes))
	}
	return out
}

// describe names the pair and, when detected, the evidence.
func (dp Dependency) describe(lfs, classes []string) string {
	if dp.VoteA < 0 {
		return fmt.Sprintf("LFs %s and %s (given)", lfs[dp.A], lfs[dp.B])
	}
	rel := "co-fire more often than chance though they vote differently"
	if dp.VoteA == dp.VoteB {
		rel = "co-fire less often than chance though they vote alike"
	}
	return fmt.Sprintf("LFs %s (%s) and %s (%s) %s (phi %.2f, z %.1f)",
		lfs[dp.A], classes[dp.VoteA], lfs[dp.B], classes[dp.VoteB], rel, dp.Phi, dp.Z)
}
