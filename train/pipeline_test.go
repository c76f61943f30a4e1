package train

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/data"
)

// The all-abstain rule: with a vote-count column, rows with 0 votes are
// dropped whatever their labels look like; without one, rows with uniform
// probabilities or an empty label.
func TestAbstainRule(t *testing.T) {
	const withVotes = "text,prob_a,prob_b,label,votes\n" +
		"x,0.5,0.5,,2\n" + // covered but tied: kept (soft), dropped (hard: no label)
		"y,0.87,0.13,a,0\n" + // no vote (the prior): dropped
		"z,0.1,0.9,b,1\n"
	const noVotes = "text,prob_a,prob_b,label\n" +
		"x,0.5,0.5,\n" +
		"y,0.87,0.13,a\n" +
		"z,0.1,0.9,b\n"
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wv, nv := write("votes.csv", withVotes), write("novotes.csv", noVotes)
	soft, hard := []string{"prob_a", "prob_b"}, "label"
	for _, tc := range []struct {
		name    string
		file    string
		spec    Spec
		keep    []int
		dropped int
		err     string
	}{
		{"soft, votes", wv, Spec{ProbCols: soft, VotesCol: "votes"}, []int{0, 2}, 1, ""},
		{"hard, votes", wv, Spec{Target: hard, VotesCol: "votes"}, []int{2}, 2, ""},
		{"soft, no votes column", nv, Spec{ProbCols: soft, VotesCol: "votes"}, []int{1, 2}, 1, ""},
		{"hard, no votes column", nv, Spec{Target: hard, VotesCol: "votes"}, []int{1, 2}, 1, ""},
		{"soft, keep", wv, Spec{ProbCols: soft, VotesCol: "votes", KeepAbstain: true}, []int{0, 1, 2}, 0, ""},
		{"votes column required", nv, Spec{ProbCols: soft, VotesCol: "votes", RequireVotes: true}, nil, 0, `no vote-count column "votes"`},
		{"bad vote count", write("bad.csv", "text,prob_a,prob_b,votes\nx,0.5,0.5,1.5\n"), Spec{ProbCols: soft, VotesCol: "votes"}, nil, 0, `row 1, column "votes": vote count "1.5"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, recs, err := data.ReadAll(tc.file, data.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer release(recs)
			tc.spec.Data = tc.file
			kind := LogReg
			tg, err := readTargets(tc.spec, recs, kind)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tg.keep, tc.keep) || tg.dropped != tc.dropped {
				t.Errorf("kept rows %v, dropped %d; want %v, %d", tg.keep, tg.dropped, tc.keep, tc.dropped)
			}
		})
	}
}
