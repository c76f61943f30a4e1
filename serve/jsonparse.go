package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// parseValue decodes one JSON document into the same values as
// encoding/json with UseNumber (map[string]any, []any, string, json.Number,
// bool, nil) in a single pass. Scoring requests are small and many, and the
// reflection-based decoder was a third of the server's CPU.
func parseValue(b []byte) (any, error) {
	return parseValueLimit(b, math.MaxInt)
}

// parseValueLimit is parseValue for a document of at most limit values
// (scalars, arrays and objects, each counted once); past it parsing stops
// at once with errTooManyValues, so a small body of many tiny values
// cannot make a huge tree.
func parseValueLimit(b []byte, limit int) (any, error) {
	p := jsonParser{b: b, left: limit}
	p.ws()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, p.errorf("invalid character %q after top-level value", p.b[p.i])
	}
	return v, nil
}

const maxDepth = 10000 // as encoding/json

type jsonParser struct {
	b    []byte
	i    int
	left int // values still allowed (see parseValueLimit)
}

// errTooManyValues stops a parse at its value limit.
var errTooManyValues = errors.New("too many JSON values")

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: "+format, append([]any{p.i}, args...)...)
}

var errEOF = errors.New("unexpected end of JSON input")

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if p.i >= len(p.b) {
		return nil, errEOF
	}
	if p.left--; p.left < 0 {
		return nil, errTooManyValues
	}
	switch c := p.b[p.i]; c {
	case '{':
		if depth >= maxDepth {
			return nil, p.errorf("exceeded max depth")
		}
		return p.object(depth + 1)
	case '[':
		if depth >= maxDepth {
			return nil, p.errorf("exceeded max depth")
		}
		return p.array(depth + 1)
	case '"':
		return p.str()
	case 't':
		return p.lit("true", true)
	case 'f':
		return p.lit("false", false)
	case 'n':
		return p.lit("null", nil)
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return p.number()
		}
		return nil, p.errorf("invalid character %q looking for beginning of value", c)
	}
}

func (p *jsonParser) lit(word string, v any) (any, error) {
	if len(p.b)-p.i < len(word) {
		return nil, errEOF
	}
	if string(p.b[p.i:p.i+len(word)]) != word {
		return nil, p.errorf("invalid literal")
	}
	p.i += len(word)
	return v, nil
}

func (p *jsonParser) number() (any, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i >= len(p.b) {
		return nil, errEOF
	}
	if p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return nil, p.errorf("invalid character in numeric literal")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			if p.i >= len(p.b) {
				return nil, errEOF
			}
			return nil, p.errorf("invalid character after decimal point in numeric literal")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			if p.i >= len(p.b) {
				return nil, errEOF
			}
			return nil, p.errorf("invalid character in exponent of numeric literal")
		}
	}
	return json.Number(p.b[start:p.i]), nil
}

func (p *jsonParser) str() (string, error) {
	p.i++ // opening quote
	start := p.i
	// Fast path: no escapes, ASCII or valid UTF-8 (most comments carry
	// some non-ASCII: emoji, accents, the UCI comments' trailing U+FEFF).
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := string(p.b[start:p.i])
			p.i++
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && size == 1 {
				break // invalid UTF-8: the slow path writes U+FFFD
			}
			p.i += size
			continue
		}
		p.i++
	}
	buf := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), nil
		case c < 0x20:
			return "", p.errorf("invalid character %q in string literal", c)
		case c == '\\':
			p.i++
			if p.i >= len(p.b) {
				return "", errEOF
			}
			e := p.b[p.i]
			p.i++
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", p.errorf("invalid \\u escape in string literal")
				}
				if utf16.IsSurrogate(r) {
					// A surrogate pair, or U+FFFD as encoding/json does.
					save := p.i
					if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
						p.i += 2
						if r2, ok := p.hex4(); ok {
							if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
								buf = utf8.AppendRune(buf, d)
								continue
							}
						}
					}
					p.i = save
					r = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", p.errorf("invalid escape character %q in string literal", e)
			}
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && size == 1 {
				buf = utf8.AppendRune(buf, utf8.RuneError)
			} else {
				buf = append(buf, p.b[p.i:p.i+size]...)
			}
			p.i += size
		}
	}
	return "", errEOF
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(v), true
}

func (p *jsonParser) array(depth int) (any, error) {
	p.i++
	out := []any{}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return out, nil
	}
	for {
		p.ws()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		p.ws()
		if p.i >= len(p.b) {
			return nil, errEOF
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return out, nil
		default:
			return nil, p.errorf("invalid character %q after array element", p.b[p.i])
		}
	}
}

func (p *jsonParser) object(depth int) (any, error) {
	p.i++
	out := map[string]any{}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return out, nil
	}
	for {
		p.ws()
		if p.i >= len(p.b) {
			return nil, errEOF
		}
		if p.b[p.i] != '"' {
			return nil, p.errorf("invalid character %q looking for beginning of object key string", p.b[p.i])
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.i >= len(p.b) {
			return nil, errEOF
		}
		if p.b[p.i] != ':' {
			return nil, p.errorf("invalid character %q after object key", p.b[p.i])
		}
		p.i++
		p.ws()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		out[k] = v
		p.ws()
		if p.i >= len(p.b) {
			return nil, errEOF
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return out, nil
		default:
			return nil, p.errorf("invalid character %q after object key:value pair", p.b[p.i])
		}
	}
}
