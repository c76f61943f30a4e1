package serve

import (
	"encoding/json"
	"math"
	"testing"
)

// Floats are written as Python's repr writes them (MLflow's json.dump), so
// responses match MLflow's byte for byte.
func TestAppendFloatMatchesPythonRepr(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0.0"}, {1, "1.0"}, {-2.5, "-2.5"}, {0.1, "0.1"}, {1e-05, "1e-05"}, {0.0001, "0.0001"},
		{1.5e-7, "1.5e-07"}, {123456789, "123456789.0"}, {1e16, "1e+16"}, {1.2345e17, "1.2345e+17"},
		{9007199254740992, "9007199254740992.0"}, {0.3999999999999999, "0.3999999999999999"},
		{math.NaN(), "null"}, {math.Inf(1), "null"}, {-0.00012, "-0.00012"}, {100, "100.0"}, {123.456, "123.456"},
		// Just below a power of ten, log10 rounds up to the power but
		// Python decides by the shortest digits' exponent.
		{9.999999999999999e-05, "9.999999999999999e-05"}, {9999999999999998, "9999999999999998.0"},
	} {
		if got := string(appendFloat(nil, c.v)); got != c.want {
			t.Errorf("appendFloat(%v) = %s, want %s", c.v, got, c.want)
		}
	}
}

func TestAppendStringIsValidJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "tab\tnl\n\x01", "<&>", "émoji 🎉", "bad \xff utf8", "\u2028"} {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q → %s: %v", s, b, err)
		}
		want := s
		if s == "bad \xff utf8" {
			want = "bad \ufffd utf8"
		}
		if got != want {
			t.Errorf("round trip %q → %q", s, got)
		}
	}
}
