// Package mbsql implements MacroBase SQL: IMPORT FROM CSV, SELECT with
// WHERE, ORDER BY and LIMIT, joins, the percentile() and normalize()
// functions, and the DIFF operator (two subqueries or SPLIT, ON columns or *,
// MIN SUPPORT / MIN RATIO, COMPARE BY, MAX COMBO), whose explanation step is
// package explain. A DIFF over two natural joins with one dimension table is
// pushed below the join: the fact tables are counted per key first and only
// the dimension rows are explained, weighted by those counts.
package mbsql

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pos is a position in the source text, 1-based.
type Pos struct{ Line, Col int }

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Error is a syntax or semantic error at a position of the query text.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("mbsql: %s: %s", e.Pos, e.Msg) }

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tQuoted // "identifier" or `identifier`
	tNumber
	tString
	tOp
)

type token struct {
	kind tokKind
	text string // identifiers as written; strings unquoted
	pos  Pos
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tString:
		return "'" + t.text + "'"
	}
	return fmt.Sprintf("%q", t.text)
}

// lex splits src into tokens; comments (-- and /* */) are skipped.
func lex(src string) ([]token, error) {
	var toks []token
	line, col := 1, 1
	i := 0
	adv := func(n int) {
		for k := 0; k < n && i < len(src); k++ {
			if src[i] == '\n' {
				line++
				col = 1
			} else if src[i]&0xC0 != 0x80 {
				col++
			}
			i++
		}
	}
	for i < len(src) {
		c := src[i]
		p := Pos{line, col}
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			adv(1)
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			for i < len(src) && src[i] != '\n' {
				adv(1)
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, &Error{p, "unterminated comment"}
			}
			adv(end + 4)
		case c == '\'':
			var b strings.Builder
			adv(1)
			for {
				if i >= len(src) {
					return nil, &Error{p, "unterminated string"}
				}
				if src[i] == '\'' {
					if i+1 < len(src) && src[i+1] == '\'' {
						b.WriteByte('\'')
						adv(2)
						continue
					}
					adv(1)
					break
				}
				b.WriteByte(src[i])
				adv(1)
			}
			toks = append(toks, token{tString, b.String(), p})
		case c == '"' || c == '`':
			end := strings.IndexByte(src[i+1:], c)
			if end < 0 {
				return nil, &Error{p, "unterminated quoted identifier"}
			}
			toks = append(toks, token{tQuoted, src[i+1 : i+1+end], p})
			adv(end + 2)
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
				k := j + 1
				if k < len(src) && (src[k] == '+' || src[k] == '-') {
					k++
				}
				if k < len(src) && src[k] >= '0' && src[k] <= '9' {
					for k < len(src) && src[k] >= '0' && src[k] <= '9' {
						k++
					}
					j = k
				}
			}
			toks = append(toks, token{tNumber, src[i:j], p})
			adv(j - i)
		case c == '_' || c < utf8.RuneSelf && unicode.IsLetter(rune(c)) || c >= utf8.RuneSelf:
			j := i
			for j < len(src) {
				r, n := utf8.DecodeRuneInString(src[j:])
				if r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) {
					j += n
					continue
				}
				break
			}
			if j == i {
				r, _ := utf8.DecodeRuneInString(src[i:])
				return nil, &Error{p, fmt.Sprintf("unexpected character %q", r)}
			}
			toks = append(toks, token{tIdent, src[i:j], p})
			adv(j - i)
		default:
			two := ""
			if i+1 < len(src) {
				two = src[i : i+2]
			}
			switch two {
			case "<=", ">=", "<>", "!=", "==":
				toks = append(toks, token{tOp, two, p})
				adv(2)
				continue
			}
			if strings.IndexByte("=<>(),;*.+-/%", c) >= 0 {
				toks = append(toks, token{tOp, string(c), p})
				adv(1)
				continue
			}
			r, _ := utf8.DecodeRuneInString(src[i:])
			return nil, &Error{p, fmt.Sprintf("unexpected character %q", r)}
		}
	}
	toks = append(toks, token{tEOF, "", Pos{line, col}})
	return toks, nil
}
