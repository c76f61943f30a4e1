package explain

import (
	"math"
	"strings"
	"testing"
)

func conditionFrame() *Frame {
	return &Frame{Rows: 5, Cols: []FrameColumn{
		{Name: "label", Str: EncodeStrings("label", []string{"spam", "ham", "spam", "", "ham"})},
		{Name: "Label", Str: EncodeStrings("Label", []string{"spam", "spam", "ham", "ham", "ham"})},
		{Name: "usage", Num: []float64{10, 2000, 1500, math.NaN(), 5}},
		{Name: "limit", Num: []float64{20, 1000, 1500, 7, 1}},
		{Name: "code", Str: EncodeStrings("code", []string{"1", "2", "x", "4", "5"})},
		{Name: "country", Str: EncodeStrings("country", []string{"CAN", "USA", "CAN", "MEX", "CAN"})},
	}}
}

func TestConditionEval(t *testing.T) {
	f := conditionFrame()
	for _, c := range []struct {
		expr string
		want string // one 1/0 per row
		cols string
	}{
		{"label != Label", "01100", "label,Label"}, // row 3: empty label matches nothing
		{"label == Label", "10001", "label,Label"},
		{"usage > 1000", "01100", "usage"},
		{"1000 < usage", "01100", "usage"},
		{"usage >= limit", "01101", "usage,limit"}, // NaN row never matches
		{"usage > 1000 AND country == 'CAN'", "00100", "usage,country"},
		{"usage > 1000 OR country = \"MEX\"", "01110", "usage,country"},
		{"NOT (country == 'CAN') and usage < 5000", "01000", "country,usage"},
		{"! country == 'CAN' || usage <= 5", "01011", "country,usage"},
		{"country <> 'CAN'", "01010", "country"},
		{"code == limit", "00000", "code,limit"},
		{"code > usage", "00000", "code,usage"},
		{"code < limit", "11010", "code,limit"}, // "x" is not a number
		{"`usage` > -1e3 AND usage < 1.5e3", "10001", "usage"},
		{"country == 'it''s'", "00000", "country"},
		{"(usage > 1000 OR usage < 6) AND (country == 'CAN' OR country == 'USA')", "01101", "usage,country"},
	} {
		cond, err := ParseCondition(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got := strings.Join(cond.Columns(), ","); got != c.cols {
			t.Errorf("%s: columns %s, want %s", c.expr, got, c.cols)
		}
		flags, err := cond.Eval(f, nil)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		var b strings.Builder
		for _, v := range flags {
			if v {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		}
		if b.String() != c.want {
			t.Errorf("%s: got %s, want %s", c.expr, b.String(), c.want)
		}
	}
}

// A text column with no number compared with a numeric column (labels
// SPAM/HAM against a 0/1 gold column) is an error naming both, not a
// condition that silently marks no row.
func TestConditionTextColumnAgainstNumbers(t *testing.T) {
	f := conditionFrame()
	for _, expr := range []string{"label != limit", "limit == country"} {
		cond, err := ParseCondition(expr)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cond.Eval(f, nil)
		if err == nil || !strings.Contains(err.Error(), "holds text") || !strings.Contains(err.Error(), "numbers") {
			t.Errorf("%s: err %v, want one saying a column holds text and the other numbers", expr, err)
		}
	}
}

func TestConditionErrors(t *testing.T) {
	f := conditionFrame()
	for _, c := range []struct{ expr, want string }{
		{"", "ends early"},
		{"usage >", "ends early"},
		{"usage", "want an operator"},
		{"usage > 1 AND", "ends early"},
		{"(usage > 1", "missing )"},
		{"usage > 1)", `unexpected ")" at byte 10`},
		{"1 < 2", "two constants"},
		{"country == 'CAN", "unterminated '"},
		{"usage ~ 3", `unexpected '~' at byte 7`},
		{"usage > 1.2.3", "bad number"},
		{strings.Repeat("(", 100) + "usage > 1" + strings.Repeat(")", 100), "nested more than"},
		{strings.Repeat("x", MaxConditionLen+1), "at most"},
	} {
		if _, err := ParseCondition(c.expr); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.expr, err, c.want)
		}
	}
	for _, c := range []struct{ expr, want string }{
		{"country == CAN", `unknown column "CAN"`},
		{"usage == 'lots'", `column usage is numeric and "lots" is not a number`},
	} {
		cond, err := ParseCondition(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cond.Eval(f, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.expr, err, c.want)
		}
	}
	// The hint for an unquoted text value.
	cond, _ := ParseCondition("country == CAN")
	if _, err := cond.Eval(f, nil); err == nil || !strings.Contains(err.Error(), "quote a text value") {
		t.Errorf("no hint: %v", err)
	}
}

func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{"usage > 1000", "label != Label", "a == 'x' AND (b < 2 OR NOT c >= -1e3)", "`a b` <> \"q\"\"\"", "((", "a ==", "!a=1"} {
		f.Add(s)
	}
	fr := conditionFrame()
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCondition(s)
		if err != nil {
			return
		}
		if len(c.Columns()) == 0 {
			t.Fatalf("%q parsed with no column", s)
		}
		// Evaluating never panics; it may fail on unknown columns.
		if flags, err := c.Eval(fr, nil); err == nil && len(flags) != fr.Rows {
			t.Fatalf("%q: %d flags for %d rows", s, len(flags), fr.Rows)
		}
	})
}
