package data

import (
	"fmt"
	"strings"
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
		fmt.Fprintf(&b, " column %q", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
