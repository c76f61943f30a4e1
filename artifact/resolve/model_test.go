package resolve

import "testing"

func TestParseModelURI(t *testing.T) {
	for _, c := range []struct {
		in   string
		ok   bool
		want ModelURI
		bad  bool
	}{
		{"models:/spam/3", true, ModelURI{Name: "spam", Version: "3"}, false},
		{"models:/spam@prod", true, ModelURI{Name: "spam", Alias: "prod"}, false},
		{"models:/team/spam/7", true, ModelURI{Name: "team/spam", Version: "7"}, false},
		{"models:/spam", true, ModelURI{}, true},
		{"models:/@prod", true, ModelURI{}, true},
		{"models:/spam/", true, ModelURI{}, true},
		{"./model-dir", false, ModelURI{}, false},
	} {
		u, ok, err := ParseModelURI(c.in)
		if ok != c.ok || (err != nil) != c.bad || (!c.bad && u != c.want) {
			t.Errorf("%s: %+v %v %v", c.in, u, ok, err)
		}
	}
}

// A parsed models:/ URI prints back to a URI that parses to the same
// reference.
func FuzzParseModelURI(f *testing.F) {
	for _, s := range []string{"models:/spam/3", "models:/spam@prod", "models:/team/spam/7", "models:/m-0123abcd", "models:/@x", "models://a/b", "runs:/x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, ok, err := ParseModelURI(s)
		if !ok || err != nil {
			return
		}
		v, ok, err := ParseModelURI(u.String())
		if !ok || err != nil || v != u {
			t.Fatalf("%q parses to %+v, which prints as %q and parses to %+v (%v)", s, u, u.String(), v, err)
		}
	})
}
