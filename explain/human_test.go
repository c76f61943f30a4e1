package explain

import (
	"math"
	"testing"
)

func TestHumanNumber(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0.1 + 0.2, "0.3"}, {0.7894736842105263, "0.7895"}, {4.1128404669260705, "4.113"}, {10.562958027981347, "10.56"},
		{38, "38"}, {-2, "-2"}, {0, "0"}, {1057, "1057"}, {12345.678, "12345.7"}, {999.96, "1000"},
		{0.00012345, "0.0001234"}, {0.0000123456, "1.23e-05"}, {2.5e20, "2.5e+20"},
		{math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"}, {math.NaN(), "NaN"},
	} {
		if got := HumanNumber(c.v); got != c.want {
			t.Errorf("HumanNumber(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
