package explain

import (
	"math"
	"testing"
)

func FuzzParsePredicate(f *testing.F) {
	for _, s := range []string{"usage > 1000", "location == 'CAN'", "a<=-1.5e3", "x <> \"y\"", "m=1", ">", "a >= "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePredicate(s)
		if err != nil {
			return
		}
		if p.Column == "" || p.Value == "" {
			t.Fatalf("%q parsed to an empty part: %+v", s, p)
		}
		if m, err := p.Matcher(); err == nil {
			m(math.NaN())
			m(1)
		}
		p.ClassifyStrings(EncodeStrings("c", []string{"a", "", p.Value}))
	})
}
