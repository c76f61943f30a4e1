package data

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func splitFixture(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,class,user\n")
	for i := 0; i < 1000; i++ {
		class := "ham"
		if i%10 == 0 { // 10 % spam
			class = "spam"
		}
		fmt.Fprintf(&b, "%d,%s,u%d\n", i, class, i%37)
	}
	p := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSplit(t *testing.T) {
	path := splitFixture(t)
	_, recs, err := ReadAll(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	class, _ := columnStrings(path, recs, "class")
	user, _ := columnStrings(path, recs, "user")
	count := func(part []int, p int, pred func(i int) bool) int {
		n := 0
		for i, q := range part {
			if q == p && pred(i) {
				n++
			}
		}
		return n
	}
	all := func(int) bool { return true }
	spam := func(i int) bool { return class[i] == "spam" }

	random, err := Split(path, recs, SplitSpec{Fractions: []float64{0.15, 0.2}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := []int{count(random, 0, all), count(random, 1, all), count(random, 2, all)}; !slices.Equal(got, []int{650, 150, 200}) {
		t.Errorf("random split sizes %v, want [650 150 200]", got)
	}
	again, _ := Split(path, recs, SplitSpec{Fractions: []float64{0.15, 0.2}, Seed: 1})
	other, _ := Split(path, recs, SplitSpec{Fractions: []float64{0.15, 0.2}, Seed: 2})
	if !slices.Equal(random, again) || slices.Equal(random, other) {
		t.Error("the same seed must give the same split and another seed another")
	}

	strat, err := Split(path, recs, SplitSpec{Fractions: []float64{0.15, 0.2}, Stratify: "class", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// 100 spam rows: exactly 15 and 20 of them in valid and test.
	if got := []int{count(strat, 0, spam), count(strat, 1, spam), count(strat, 2, spam)}; !slices.Equal(got, []int{65, 15, 20}) {
		t.Errorf("stratified spam per part %v, want [65 15 20]", got)
	}

	grp, err := Split(path, recs, SplitSpec{Fractions: []float64{0.2}, Group: "user", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	partOf := map[string]int{}
	for i, p := range grp {
		if q, ok := partOf[user[i]]; ok && q != p {
			t.Fatalf("user %s is in parts %d and %d", user[i], q, p)
		}
		partOf[user[i]] = p
	}
	if n := count(grp, 1, all); n < 150 || n > 250 {
		t.Errorf("group split put %d rows in the 20 %% part", n)
	}

	for _, bad := range []SplitSpec{{Fractions: []float64{0.6, 0.5}}, {Fractions: []float64{-0.1}}, {Fractions: []float64{0.1}, Stratify: "class", Group: "user"}} {
		if _, err := Split(path, recs, bad); err == nil {
			t.Errorf("Split(%+v) accepted", bad)
		}
	}
	if _, err := Split(path, recs, SplitSpec{Fractions: []float64{0.1}, Stratify: "Class"}); err == nil || !strings.Contains(err.Error(), `column "Class"`) {
		t.Errorf("unknown column: %v", err)
	}

	// WriteParts keeps the input order within a part and every row once.
	dir := t.TempDir()
	var ws []*Writer
	for _, n := range []string{"a.csv", "b.csv", "c.csv"} {
		w, err := Create(filepath.Join(dir, n), recs[0].Schema(), WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	counts, err := WriteParts(recs, strat, ws)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(counts, []int{650, 150, 200}) {
		t.Errorf("written %v rows", counts)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "b.csv"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")[1:]
	var want []string
	for i, p := range strat {
		if p == 1 {
			want = append(want, fmt.Sprintf("%d,%s,%s", i, class[i], user[i]))
		}
	}
	if !slices.Equal(lines, want) {
		t.Errorf("valid part differs from the assigned rows in input order")
	}
}
