package serve

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/dawn-ml/dawn/model"
)

// encoder writes predictions as MLflow's response: {"predictions": [...]},
// with one record per row for a classifier (MLflow's "records" orientation
// of the output DataFrame) and one number per row for regression.
type encoder struct {
	probKeys [][]byte // `"prob_<class>":` per class, JSON-quoted
	labels   [][]byte // each class name JSON-quoted
}

func newEncoder(classes []string) *encoder {
	e := &encoder{}
	for _, c := range classes {
		e.probKeys = append(e.probKeys, append(appendString(nil, "prob_"+c), ':'))
		e.labels = append(e.labels, appendString(nil, c))
	}
	return e
}

// check verifies that p covers rows [off, off+n).
func checkPrediction(p *model.Prediction, total int) error {
	if p == nil {
		return fmt.Errorf("serve: model returned no prediction")
	}
	k := len(p.Classes)
	switch {
	case p.Values != nil:
		if len(p.Values) != total {
			return fmt.Errorf("serve: model returned %d values for %d rows", len(p.Values), total)
		}
	case p.Labels != nil:
		if len(p.Labels) != total {
			return fmt.Errorf("serve: model returned %d labels for %d rows", len(p.Labels), total)
		}
		if p.Probs != nil && len(p.Probs) != total*k {
			return fmt.Errorf("serve: model returned %d probabilities for %d rows of %d classes", len(p.Probs), total, k)
		}
		for i, l := range p.Labels {
			if l < -1 || l >= k {
				return fmt.Errorf("serve: model returned label id %d for row %d with %d classes", l, i, k)
			}
		}
	case total > 0:
		return fmt.Errorf("serve: model returned neither labels nor values")
	}
	if p.Stage != nil && len(p.Stage) != total {
		return fmt.Errorf("serve: model returned %d stages for %d rows", len(p.Stage), total)
	}
	return nil
}

// appendRows appends the JSON predictions of rows [off, off+n) of p.
func (e *encoder) appendRows(b []byte, p *model.Prediction, off, n int) []byte {
	k := len(p.Classes)
	for i := off; i < off+n; i++ {
		if i > off {
			b = append(b, ',')
		}
		if p.Values != nil && p.Labels == nil {
			b = appendFloat(b, p.Values[i])
			continue
		}
		b = append(b, `{"label":`...)
		if l := p.Labels[i]; l < 0 {
			b = append(b, "null"...)
		} else if l < len(e.labels) {
			b = append(b, e.labels[l]...)
		} else {
			b = appendString(b, p.Classes[l])
		}
		if p.Probs != nil {
			for c := 0; c < k; c++ {
				b = append(b, ',')
				if c < len(e.probKeys) {
					b = append(b, e.probKeys[c]...)
				} else {
					b = append(appendString(b, "prob_"+p.Classes[c]), ':')
				}
				b = appendFloat(b, p.Probs[i*k+c])
			}
		}
		if p.Stage != nil {
			b = append(b, `,"stage":`...)
			b = appendString(b, p.Stage[i])
		}
		b = append(b, '}')
	}
	return b
}

func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	// Python's repr, as MLflow's json.dump writes floats: the shortest
	// digits that round-trip, positional when their decimal exponent is in
	// [-4, 16) (with at least one fractional digit), scientific otherwise.
	if v == 0 {
		if math.Signbit(v) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	// Format once in Go's 'e' form ("-d.ddde±XX", which is Python's for
	// the scientific case) and rearrange its digits when positional.
	start := len(b)
	b = strconv.AppendFloat(b, v, 'e', -1, 64)
	e := len(b) - 1
	for b[e] != 'e' {
		e--
	}
	exp := 0
	for _, c := range b[e+2:] {
		exp = exp*10 + int(c-'0')
	}
	if b[e+1] == '-' {
		exp = -exp
	}
	if exp < -4 || exp >= 16 {
		return b
	}
	// The digits: b[first] then b[first+2:e] when there is a '.'.
	var digits [17]byte
	first := start
	if b[first] == '-' {
		first++
	}
	nd := copy(digits[:], b[first:first+1])
	if first+1 < e {
		nd += copy(digits[nd:], b[first+2:e])
	}
	b = b[:first]
	if exp < 0 {
		b = append(b, '0', '.')
		for range -exp - 1 {
			b = append(b, '0')
		}
		return append(b, digits[:nd]...)
	}
	if nd <= exp+1 {
		b = append(b, digits[:nd]...)
		for range exp + 1 - nd {
			b = append(b, '0')
		}
		return append(b, '.', '0')
	}
	b = append(b, digits[:exp+1]...)
	b = append(b, '.')
	return append(b, digits[exp+1:nd]...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
