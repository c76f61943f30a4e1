package data

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error describes bad input: which file, which data row (1-based, not
// counting the header; 0 when the problem is not tied to a row) and which
// column (empty when not tied to one).
type Error struct {
	File   string
	Row    int64
	Column string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Row > 0 {
		fmt.Fprintf(&b, ": row %d", e.Row)
	}
	if e.Column != "" {
		if e.Row > 0 {
			b.WriteString(",")
		} else {
			b.WriteString(":")
		}
		fmt.Fprintf(&b, " column %s", quoteValue([]byte(e.Column)))
	}
	b.WriteString(": ")
	b.WriteString(elide(e.Err.Error()))
	return b.String()
}

// MaxErrorDetail is the most of an error's detail an *Error repeats: the
// detail may quote the input (a header, a list of columns), and a 1 GB
// header line was once echoed whole. Longer details keep their start and
// their end (where the hint is) around a note of what was left out.
// Column names are quoted up to 40 bytes, as values are.
const MaxErrorDetail = 1000

func elide(s string) string {
	if len(s) <= MaxErrorDetail {
		return s
	}
	head, tail := 700, len(s)-250
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	for tail < len(s) && !utf8.RuneStart(s[tail]) {
		tail++
	}
	return s[:head] + fmt.Sprintf(" …(%d bytes left out)… ", tail-head) + s[tail:]
}

func (e *Error) Unwrap() error { return e.Err }
