package label

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// wantL is the matrix of testdata/votes/make_npy.py.
var wantL = [][]int{{0, 1, -1}, {-1, -1, -1}, {1, 1, 0}, {2, -1, 1}}

func TestReadVotesNPY(t *testing.T) {
	for _, name := range []string{"L_int64.npy", "L_int8.npy", "L_int32_be.npy", "L_float64.npy", "L_fortran.npy"} {
		x, gold, err := ReadVotes(t.Context(), filepath.Join("testdata", "votes", name), VotesOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := x.Dense(); !reflect.DeepEqual(got, wantL) || gold != nil {
			t.Errorf("%s: %v, want %v", name, got, wantL)
		}
		if !reflect.DeepEqual(x.Classes, []string{"0", "1", "2"}) || !reflect.DeepEqual(x.LFs, []string{"lf0", "lf1", "lf2"}) {
			t.Errorf("%s: classes %q, LFs %q", name, x.Classes, x.LFs)
		}
	}
	_, _, err := ReadVotes(t.Context(), filepath.Join("testdata", "votes", "L_int64.npy"), VotesOptions{Classes: []string{"ham", "spam"}})
	if err == nil || !strings.Contains(err.Error(), "row 4, LF lf0: vote 2 is not -1 (abstain) or a class id in 0..1") {
		t.Errorf("vote beyond the classes: %v", err)
	}
}

func TestReadVotesCSVAndWrench(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	x, _, err := ReadVotes(t.Context(), write("v.csv", "kw,re,short\n0,spam,\n-1,,-1\nspam,1,ham\n"), VotesOptions{Classes: []string{"ham", "spam"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := x.Dense(); !reflect.DeepEqual(got, [][]int{{0, 1, -1}, {-1, -1, -1}, {1, 1, 0}}) || !reflect.DeepEqual(x.LFs, []string{"kw", "re", "short"}) {
		t.Errorf("csv: %v, LFs %q", got, x.LFs)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"bad.csv", "a,b\n0,eggs\n", `votes line 2, LF b: "eggs" is not a class id`},
		{"short.csv", "a,b\n0\n", "wrong number of fields"},
		{"nohead.csv", "0,1\n1,0\n", "the first line names the LFs"},
		{"dup.csv", "a,a\n0,1\n", "repeated LF name"},
	} {
		if _, _, err := ReadVotes(t.Context(), write(tc.name, tc.body), VotesOptions{Classes: []string{"ham", "spam"}}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	sub := filepath.Join(dir, "w")
	os.Mkdir(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "label.json"), []byte(`{"0": "ham", "1": "spam"}`), 0o644)
	wp := filepath.Join(sub, "test.json")
	os.WriteFile(wp, []byte(`{"10": {"label": 1, "weak_labels": [1, -1]}, "2": {"label": 0, "weak_labels": [-1, 0], "data": {"text": "hi"}}}`), 0o644)
	x, gold, err := ReadVotes(t.Context(), wp, VotesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Numeric id order: "2" before "10".
	if !reflect.DeepEqual(x.Dense(), [][]int{{-1, 0}, {1, -1}}) || !reflect.DeepEqual(gold, []int{0, 1}) || !reflect.DeepEqual(x.Classes, []string{"ham", "spam"}) {
		t.Errorf("wrench: %v gold %v classes %q", x.Dense(), gold, x.Classes)
	}
	if _, _, err := ReadVotes(t.Context(), write("x.txt", ""), VotesOptions{}); err == nil || !strings.Contains(err.Error(), "Wrench .json") {
		t.Errorf("unknown extension: %v", err)
	}
}

func FuzzParseVotesCSV(f *testing.F) {
	f.Add("kw,re\n0,spam\n-1,\n")
	f.Add("a\n\"1\n")
	f.Fuzz(func(t *testing.T, s string) {
		lfs, rows, err := ParseVotesCSV(strings.NewReader(s), ',', []string{"ham", "spam"})
		if err != nil {
			return
		}
		if _, err := denseMatrix(rows, lfs, []string{"ham", "spam"}); err != nil && !strings.Contains(err.Error(), "vote") && !strings.Contains(err.Error(), "LFs") {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

func FuzzParseNPY(f *testing.F) {
	for _, name := range []string{"L_int64.npy", "L_int8.npy", "L_int32_be.npy", "L_float64.npy", "L_fortran.npy"} {
		b, err := os.ReadFile(filepath.Join("testdata", "votes", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := ParseNPY(b)
		if err != nil {
			return
		}
		for _, r := range rows {
			for _, v := range r {
				if v < -1 {
					t.Fatalf("vote %d below -1 accepted", v)
				}
			}
		}
	})
}

func FuzzParseWrench(f *testing.F) {
	f.Add([]byte(`{"0": {"label": 1, "weak_labels": [1, -1]}}`))
	f.Add([]byte(`{"a": {"weak_labels": []}, "1": {"label": -1, "weak_labels": [0]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, gold, err := ParseWrench(b)
		if err != nil {
			return
		}
		if len(rows) != len(gold) {
			t.Fatalf("%d rows, %d gold labels", len(rows), len(gold))
		}
	})
}
