package suggest

import "testing"

func TestClosest(t *testing.T) {
	keys := []string{"name", "label", "field", "keywords", "match", "case_sensitive", "regex", "ignore_case", "when", "lookup"}
	for _, tc := range []struct {
		word, want string
		ok         bool
	}{
		{"keyword", "keywords", true},  // one deletion
		{"Keywords", "keywords", true}, // case only
		{"regx", "regex", true},        // one deletion
		{"lable", "label", true},       // transposition = 2 edits
		{"ignorecase", "ignore_case", true},
		{"xyz", "", false}, // nothing near
		{"wen", "when", true},
		{"ab", "", false}, // too short to guess
	} {
		got, ok := Closest(tc.word, keys)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Closest(%q) = %q, %v; want %q, %v", tc.word, got, ok, tc.want, tc.ok)
		}
	}
	if h := Hint("label", []string{"Label", "SMS"}); h != ` (did you mean "Label"?)` {
		t.Errorf("Hint = %q", h)
	}
	if h := Hint("Label", []string{"Label"}); h != "" {
		t.Errorf("Hint of an exact match = %q, want none", h)
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2}, {"héllo", "hello", 1}} {
		if got := distance(tc.a, tc.b); got != tc.d {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}
