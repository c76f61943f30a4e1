package labelmodel

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/label"
)

// contradicting is a label matrix whose Snorkel fit makes an LF's vote
// evidence against its own label: link (SPAM) fires mostly together with
// short (HAM), as the YouTube tutorial's keyword_link does with
// short_comment, and my (SPAM) fires alone.
func contradicting(t testing.TB) *label.Matrix {
	t.Helper()
	const link, my, short = 0, 1, 2
	var rows [][]int
	add := func(n int, votes map[int]int) {
		for range n {
			r := []int{label.Abstain, label.Abstain, label.Abstain}
			for lf, v := range votes {
				r[lf] = v
			}
			rows = append(rows, r)
		}
	}
	add(60, map[int]int{link: 1, short: 0})
	add(10, map[int]int{link: 1})
	add(50, map[int]int{my: 1})
	add(20, map[int]int{my: 1, link: 1})
	add(80, map[int]int{short: 0})
	add(10, map[int]int{my: 1, short: 0})
	add(40, nil)
	x, err := label.FromDense(rows, 3, []string{"link", "my", "short"}, []string{"HAM", "SPAM"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// A fit that contradicts an LF labels by majority vote; NoFallback keeps
// the fit. Majority's probabilities for each pattern, by hand: link+short
// and my+short tie (0.5), link, my and my+link are SPAM (1), short is HAM
// (0), no votes tie (0.5).
func TestSnorkelMajorityFallback(t *testing.T) {
	x := contradicting(t)
	wantSpam := map[string]float64{"link+short": 0.5, "link": 1, "my": 1, "my+link": 1, "short": 0, "my+short": 0.5, "": 0.5}
	first := map[string]int{"link+short": 0, "link": 60, "my": 70, "my+link": 120, "short": 140, "my+short": 220, "": 230}
	for _, noFallback := range []bool{false, true} {
		m, err := New(Snorkel, Options{Seed: 1, UniformPrior: true, IndependentLFs: true, NoFallback: noFallback})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Fit(t.Context(), x); err != nil {
			t.Fatal(err)
		}
		var contra bool
		for _, w := range Warnings(m) {
			contra = contra || strings.Contains(w, "LF link's SPAM vote is fitted as evidence against SPAM")
		}
		if !contra {
			t.Fatalf("NoFallback %v: warnings %q; want link's vote flagged as evidence against SPAM", noFallback, Warnings(m))
		}
		if got := MajorityFallback(m); got == noFallback {
			t.Errorf("NoFallback %v: MajorityFallback %v", noFallback, got)
		}
		probs, err := m.PredictProba(x)
		if err != nil {
			t.Fatal(err)
		}
		for pat, row := range first {
			got := probs[2*row+1]
			if !noFallback && got != wantSpam[pat] {
				t.Errorf("fallback: P(SPAM | %s) = %v, want majority's %v", pat, got, wantSpam[pat])
			}
			if noFallback && pat == "link" && got >= 0.5 {
				t.Errorf("kept fit: P(SPAM | link) = %v; the contradicting fit should put it below 0.5", got)
			}
		}
		// The fallback survives Save and Load.
		var buf bytes.Buffer
		if err := m.Save(&buf); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), `"fallback": "majority"`) == noFallback {
			t.Errorf("NoFallback %v: saved model %s", noFallback, buf.String())
		}
		m2, err := Load(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if MajorityFallback(m2) != MajorityFallback(m) {
			t.Errorf("NoFallback %v: loaded MajorityFallback %v", noFallback, MajorityFallback(m2))
		}
		p2, err := m2.PredictProba(x)
		if err != nil {
			t.Fatal(err)
		}
		for i := range probs {
			if !near(p2[i], probs[i], 1e-12) {
				t.Fatalf("NoFallback %v: loaded model's probability %d is %v, saved %v", noFallback, i, p2[i], probs[i])
			}
		}
	}
}

// A fit that contradicts no LF keeps Snorkel's probabilities.
func TestSnorkelNoFallbackWhenConsistent(t *testing.T) {
	x, _ := synth(5000, []float64{0.9, 0.8, 0.75, 0.7}, []float64{0.6, 0.5, 0.5, 0.4}, []float64{0.5, 0.5}, 3)
	m, err := New(Snorkel, Options{Seed: 1, UniformPrior: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Fit(t.Context(), x); err != nil {
		t.Fatal(err)
	}
	if MajorityFallback(m) {
		t.Fatalf("planted independent LFs fell back to majority vote: %q", Warnings(m))
	}
}

func TestLoadFallbackErrors(t *testing.T) {
	for _, tc := range []struct{ name, json, want string }{
		{"unknown", `{"format":"dawn-labelmodel","version":1,"method":"snorkel","classes":["a","b"],"lfs":["x"],"class_balance":[0.5,0.5],"coverage":[0.5],"mu":[[0.9,0.1],[0.1,0.9]],"fallback":"vote"}`, `fallback "vote" is not "majority"`},
		{"not snorkel", `{"format":"dawn-labelmodel","version":1,"method":"majority","classes":["a","b"],"lfs":["x"],"class_balance":[0.5,0.5],"lf_accuracies":[0.5],"fallback":"majority"}`, "fallback is a snorkel field"},
	} {
		_, err := Load(strings.NewReader(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}
