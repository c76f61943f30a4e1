package tracking

import "testing"

func TestCheckServerVersion(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{MLflowVersion, true},
		{"3.4", true},
		{"3.4.0rc1", true},
		{"3.10.2.post1.dev3", true},
		{"4", true},
		{"1!2.0", true},
		{"3.3.9", false},
		{"2.22.0", false},
		{"3a1", false},
		{"dev", false},
		{"v3.6.0", false},
		{"3.6.0-rc1", false},
		{"03.6", false},
		{"", false},
	} {
		err := CheckServerVersion(tc.v)
		if (err == nil) != tc.ok {
			t.Errorf("CheckServerVersion(%q) = %v, want ok=%v", tc.v, err, tc.ok)
		}
	}
}
