package serve

import (
	"encoding/json"
	"unicode/utf8"
)

// Bounds of the context columns a request may carry: the extra columns,
// not in the model's signature, that are kept in the prediction log (for
// monitors to segment by) and not given to the model. Only the first
// MaxContextColumns of them, in the request's order (by name where the
// columns are JSON object keys), are kept; a value
// longer than MaxContextBytes bytes is cut there (at a UTF-8 boundary).
// A model saved without a signature takes every request column as an
// input, so its requests have no context columns.
const (
	MaxContextColumns = 16
	MaxContextBytes   = 256
)

// ContextColumn is one context column of a request: its values as text
// (numbers as written, booleans as true/false, lists and objects as
// compact JSON), Null[i] true where row i had no value.
type ContextColumn struct {
	Name   string
	Values []string
	Null   []bool // nil when no value is null
}

// contextAt picks the request positions that are context columns: those
// no signature column takes (taken[k] false), at most MaxContextColumns.
func contextAt(names []string, taken []bool) []int {
	var at []int
	for k := range names {
		if !taken[k] && len(at) < MaxContextColumns {
			at = append(at, k)
		}
	}
	return at
}

// setContext makes t's context columns for request positions at.
func (t *table) setContext(names []string, at []int) {
	if len(at) == 0 {
		return
	}
	t.ctx = make([]ContextColumn, len(at))
	for i, k := range at {
		t.ctx[i] = ContextColumn{Name: names[k], Values: make([]string, 0, t.n)}
	}
}

// addContext appends one value (decoded JSON, or CSV text with
// fromText) to context column i.
func (t *table) addContext(i int, v any) {
	c := &t.ctx[i]
	s, ok := contextText(v)
	if !ok {
		if c.Null == nil {
			c.Null = make([]bool, len(c.Values), cap(c.Values))
		}
		c.Null = append(c.Null, true)
		c.Values = append(c.Values, "")
		return
	}
	if c.Null != nil {
		c.Null = append(c.Null, false)
	}
	c.Values = append(c.Values, s)
}

// contextText is a context value as text; false for null (and the empty
// CSV cell).
func contextText(v any) (string, bool) {
	var s string
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		s = x
	case json.Number:
		s = string(x)
	case bool:
		s = "false"
		if x {
			s = "true"
		}
	case csvCell:
		if x == "" {
			return "", false
		}
		s = string(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return "", false
		}
		s = string(b)
	}
	if len(s) > MaxContextBytes {
		cut := MaxContextBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s, true
}

// csvCell is a CSV field given to addContext, where "" is null.
type csvCell string
