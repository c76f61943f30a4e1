package explain

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// plantedCause generates rows over country x version x os with a cause
// planted in one country-version pair: its rows are outliers with
// probability 1/3, all others with probability base. Every country has a
// fifth of the rows, every version a third, every os a half.
func plantedCause(rows int, base float64, seed uint64) (attrs []*Column, flags []bool) {
	rng := rand.New(rand.NewPCG(seed, 1))
	countries := []string{"USA", "CAN", "MEX", "GBR", "FRA"}
	versions := []string{"v1", "v2", "v3"}
	oses := []string{"android", "ios"}
	var c, v, o []string
	for i := 0; i < rows; i++ {
		ci, vi := rng.IntN(len(countries)), rng.IntN(len(versions))
		c = append(c, countries[ci])
		v = append(v, versions[vi])
		o = append(o, oses[rng.IntN(len(oses))])
		p := base
		if countries[ci] == "CAN" && versions[vi] == "v3" {
			p = 1.0 / 3
		}
		flags = append(flags, rng.Float64() < p)
	}
	return []*Column{EncodeStrings("country", c), EncodeStrings("version", v), EncodeStrings("os", o)}, flags
}

func TestSpecificReportsThePlantedPair(t *testing.T) {
	t.Run("dense", testSpecificPlanted)
	t.Run("hash", func(t *testing.T) {
		old := denseLimit
		denseLimit = 1
		defer func() { denseLimit = old }()
		testSpecificPlanted(t)
	})
}

func testSpecificPlanted(t *testing.T) {
	attrs, flags := plantedCause(100_000, 0.004, 7)
	labels := Labels{Outlier: flags}
	base := Options{MinSupport: 0.2, MinRatio: 1.5, Metric: GlobalRatio, MaxOrder: 3}

	// MacroBase's rule: both parts pass, so neither is extended.
	exact, err := APriori(attrs, labels, base)
	if err != nil {
		t.Fatal(err)
	}
	got := keys(exact)
	sort.Strings(got)
	if len(got) != 2 || got[0] != "country=CAN" || got[1] != "version=v3" {
		t.Fatalf("MacroBase rule: got %v, want country=CAN and version=v3", got)
	}

	for _, m := range []Metric{GlobalRatio, RiskRatio} {
		opt := base
		opt.Metric, opt.Specific = m, DefaultSpecific
		r, err := APriori(attrs, labels, opt)
		if err != nil {
			t.Fatal(err)
		}
		got := keys(r)
		if len(got) != 1 || got[0] != "country=CAN,version=v3" {
			t.Fatalf("%v: got %v, want only country=CAN,version=v3", m, got)
		}
		// The counts are the pair's, checked against a direct count.
		var o, n, O float64
		for i, f := range flags {
			if f {
				O++
			}
			if attrs[0].Dict[attrs[0].Codes[i]] == "CAN" && attrs[1].Dict[attrs[1].Codes[i]] == "v3" {
				n++
				if f {
					o++
				}
			}
		}
		e := r.Explanations[0]
		if e.OutlierCount != o || e.TotalCount != n || e.Support != o/O {
			t.Errorf("%v: pair counts %v/%v support %v, want %v/%v %v", m, e.OutlierCount, e.TotalCount, e.Support, o, n, o/O)
		}
		if want := m.Ratio(o, n, O, float64(len(flags))); e.Ratio != want {
			t.Errorf("%v: ratio %v, want %v", m, e.Ratio, want)
		}
	}
}

// A pair that is only a little stronger than its part does not replace it.
func TestSpecificKeepsThePartWhenThePairIsNotFarStronger(t *testing.T) {
	// country=CAN is the cause on every version; the pair CAN,v3 has about
	// the same rate as CAN.
	rng := rand.New(rand.NewPCG(3, 3))
	var c, v []string
	var flags []bool
	for i := 0; i < 60_000; i++ {
		country := []string{"USA", "CAN", "MEX"}[rng.IntN(3)]
		version := []string{"v1", "v2", "v3"}[rng.IntN(3)]
		c, v = append(c, country), append(v, version)
		p := 0.01
		if country == "CAN" {
			p = 0.2
		}
		flags = append(flags, rng.Float64() < p)
	}
	attrs := []*Column{EncodeStrings("country", c), EncodeStrings("version", v)}
	opt := Options{MinSupport: 0.2, MinRatio: 1.5, Metric: RiskRatio, MaxOrder: 3, Specific: DefaultSpecific}
	r, err := APriori(attrs, Labels{Outlier: flags}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(r); len(got) != 1 || got[0] != "country=CAN" {
		t.Fatalf("got %v, want only country=CAN", got)
	}
}

func TestSpecificValidates(t *testing.T) {
	attrs, flags := plantedCause(1000, 0.01, 1)
	for _, f := range []float64{-1, math.NaN()} {
		opt := DefaultOptions()
		opt.Specific = f
		if _, err := APriori(attrs, Labels{Outlier: flags}, opt); err == nil {
			t.Errorf("Specific %v: no error", f)
		}
	}
}
