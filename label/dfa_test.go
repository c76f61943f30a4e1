package label

import (
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// The DFA must report exactly the occurrences a naive search finds.
func TestDFAAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alpha := "abAB c"
	randStr := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	for trial := 0; trial < 300; trial++ {
		var pats []string
		for i := 0; i < 1+rng.IntN(6); i++ {
			pats = append(pats, randStr(1+rng.IntN(4)))
		}
		text := randStr(rng.IntN(40))
		d := newDFA(pats)
		var got [][3]int
		d.scan(text, func(p int32, s, e int) { got = append(got, [3]int{int(p), s, e}) })
		var want [][3]int
		lt := strings.ToLower(text)
		for p, pat := range pats {
			lp := strings.ToLower(pat)
			for s := 0; s+len(lp) <= len(lt); s++ {
				if lt[s:s+len(lp)] == lp {
					want = append(want, [3]int{p, s, s + len(lp)})
				}
			}
		}
		key := func(v [][3]int) {
			sort.Slice(v, func(i, j int) bool { return v[i][0]*10000+v[i][1] < v[j][0]*10000+v[j][1] })
		}
		key(got)
		key(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("pats %q text %q\n got %v\nwant %v", pats, text, got, want)
		}
	}
}
