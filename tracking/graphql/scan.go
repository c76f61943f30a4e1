package graphql

import (
	"fmt"
	"unicode/utf8"
)

// The bounds MLflow's server puts on a GraphQL document before it is
// validated or run (mlflow/server/graphql/graphql_no_batching.py), and the
// ones dawn adds so that scanning itself stays cheap.
const (
	// MaxDepth is the deepest selection set a document may nest: the
	// operation's own set is depth 1.
	MaxDepth = 10
	// MaxSelections bounds the fields a document writes out in all.
	MaxSelections = 1000
	// DefaultMaxRootFields and DefaultMaxAliases are MLflow's defaults of
	// MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS and _MAX_ALIASES.
	DefaultMaxRootFields = 10
	DefaultMaxAliases    = 10
	// MaxValueNesting bounds the nesting of list and object values in
	// arguments and of parentheses, which MLflow leaves to its parser.
	MaxValueNesting = 64
)

// queryInfo is what the scan of a document counts.
type queryInfo struct {
	rootFields int // fields in the top selection set of every definition
	maxAliases int // aliased fields of the selection set that has the most
}

// limitError is a document refused by a bound or by the syntax; its text
// is what the client sees in "errors".
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

func limitf(format string, args ...any) error { return &limitError{fmt.Sprintf(format, args...)} }

// scan walks an executable GraphQL document just far enough to count what
// MLflow bounds: the depth of selection sets, fields in all, the fields of
// each definition's top selection set (root fields) and the aliased fields
// of each selection set. It reads the document once, without building a
// tree, and stops at the first bound passed. Unlike MLflow it also counts
// the fields of inline fragments, as part of the selection set they sit
// in, and counts an inline fragment as a level of depth, so fragments
// cannot hide fields from the bounds. Fragment definitions count as MLflow
// counts them: their top fields are root fields.
//
// A document that does not lex or does not have the shape of an
// executable document is refused with a syntax error; everything else
// (names, types, arguments) is left to the schema's validation.
func scan(doc string) (queryInfo, error) {
	s := scanner{lx: lexer{src: doc}}
	if err := s.next(); err != nil {
		return s.info, err
	}
	if s.tok.kind == tokEOF {
		return s.info, limitf("Syntax Error: Unexpected <EOF>.")
	}
	for s.tok.kind != tokEOF {
		if err := s.definition(); err != nil {
			return s.info, err
		}
	}
	return s.info, nil
}

type scanner struct {
	lx    lexer
	tok   token
	info  queryInfo
	count int
}

func (s *scanner) next() error {
	t, err := s.lx.next()
	s.tok = t
	return err
}

func (s *scanner) unexpected() error {
	if s.tok.kind == tokEOF {
		return limitf("Syntax Error: Unexpected <EOF>.")
	}
	return limitf("Syntax Error: Unexpected %q at offset %d.", s.tok.text, s.tok.pos)
}

func (s *scanner) isPunct(p string) bool { return s.tok.kind == tokPunct && s.tok.text == p }

func (s *scanner) expectPunct(p string) error {
	if !s.isPunct(p) {
		return s.unexpected()
	}
	return s.next()
}

func (s *scanner) expectName() error {
	if s.tok.kind != tokName {
		return s.unexpected()
	}
	return s.next()
}

// nameAfter steps past the current token (@, :, on) and then past the
// name that must follow it.
func (s *scanner) nameAfter() error {
	if err := s.next(); err != nil {
		return err
	}
	return s.expectName()
}

// definition reads one operation or fragment definition.
func (s *scanner) definition() error {
	if s.isPunct("{") {
		return s.selectionSet(1, true)
	}
	if s.tok.kind != tokName {
		return s.unexpected()
	}
	switch s.tok.text {
	case "query", "mutation", "subscription":
		if err := s.next(); err != nil {
			return err
		}
		if s.tok.kind == tokName {
			if err := s.next(); err != nil {
				return err
			}
		}
		if err := s.arguments(); err != nil {
			return err
		}
	case "fragment":
		if err := s.next(); err != nil {
			return err
		}
		if s.tok.kind != tokName || s.tok.text == "on" {
			return s.unexpected()
		}
		if err := s.next(); err != nil {
			return err
		}
		if s.tok.kind != tokName || s.tok.text != "on" {
			return s.unexpected()
		}
		if err := s.nameAfter(); err != nil {
			return err
		}
	default:
		return limitf("Syntax Error: Unexpected Name %q at offset %d: only operations and fragments may be sent.", s.tok.text, s.tok.pos)
	}
	if err := s.directives(); err != nil {
		return err
	}
	return s.selectionSet(1, true)
}

// arguments skips a parenthesised list (arguments or variable
// definitions) if one comes next.
func (s *scanner) arguments() error {
	if s.isPunct("(") {
		return s.skipBalanced()
	}
	return nil
}

// directives skips @name(args...) repeated.
func (s *scanner) directives() error {
	for s.isPunct("@") {
		if err := s.nameAfter(); err != nil {
			return err
		}
		if err := s.arguments(); err != nil {
			return err
		}
	}
	return nil
}

// selectionSet reads { selection+ } at depth; root says whether its fields
// are root fields.
func (s *scanner) selectionSet(depth int, root bool) error {
	if depth > MaxDepth {
		return limitf("Query exceeds maximum depth of %d", MaxDepth)
	}
	if err := s.expectPunct("{"); err != nil {
		return err
	}
	aliases := 0
	if err := s.selections(depth, root, &aliases); err != nil {
		return err
	}
	s.info.maxAliases = max(s.info.maxAliases, aliases)
	return s.next() // the closing brace
}

// selections reads selections up to the closing brace (left as the current
// token), counting the aliased fields into *aliases; an inline fragment's
// fields belong to the enclosing set.
func (s *scanner) selections(depth int, root bool, aliases *int) error {
	if s.isPunct("}") {
		return s.unexpected() // a selection set is never empty
	}
	for !s.isPunct("}") {
		if s.isPunct("...") {
			if err := s.next(); err != nil {
				return err
			}
			if s.tok.kind == tokName && s.tok.text != "on" {
				// A named spread: its fields are counted with its fragment.
				if err := s.next(); err != nil {
					return err
				}
				if err := s.directives(); err != nil {
					return err
				}
				continue
			}
			if s.tok.kind == tokName { // on Type
				if err := s.nameAfter(); err != nil {
					return err
				}
			}
			if err := s.directives(); err != nil {
				return err
			}
			if depth+1 > MaxDepth {
				return limitf("Query exceeds maximum depth of %d", MaxDepth)
			}
			if err := s.expectPunct("{"); err != nil {
				return err
			}
			if err := s.selections(depth+1, root, aliases); err != nil {
				return err
			}
			if err := s.next(); err != nil {
				return err
			}
			continue
		}
		if s.tok.kind != tokName {
			return s.unexpected()
		}
		if err := s.next(); err != nil {
			return err
		}
		if s.isPunct(":") { // alias: name
			*aliases++
			if err := s.nameAfter(); err != nil {
				return err
			}
		}
		if root {
			s.info.rootFields++
		}
		s.count++
		if s.count > MaxSelections {
			return limitf("Query exceeds maximum total selections of %d", MaxSelections)
		}
		if err := s.arguments(); err != nil {
			return err
		}
		if err := s.directives(); err != nil {
			return err
		}
		if s.isPunct("{") {
			if err := s.selectionSet(depth+1, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// skipBalanced skips from an opening parenthesis to its match, over any
// values, keeping list, object and parenthesis nesting within
// MaxValueNesting.
func (s *scanner) skipBalanced() error {
	var stack []byte
	for {
		if s.tok.kind == tokEOF {
			return s.unexpected()
		}
		if s.tok.kind == tokPunct {
			switch p := s.tok.text; p {
			case "(", "[", "{":
				if len(stack) >= MaxValueNesting {
					return limitf("Query nests values deeper than %d", MaxValueNesting)
				}
				stack = append(stack, map[string]byte{"(": ')', "[": ']', "{": '}'}[p])
			case ")", "]", "}":
				if len(stack) == 0 || stack[len(stack)-1] != p[0] {
					return s.unexpected()
				}
				stack = stack[:len(stack)-1]
			}
		}
		if err := s.next(); err != nil {
			return err
		}
		if len(stack) == 0 {
			return nil
		}
	}
}

// The lexer: GraphQL's tokens (October 2021 spec, section 2.1), enough to
// tell names, punctuators and the extent of values apart.

type tokKind int

const (
	tokEOF tokKind = iota
	tokPunct
	tokName
	tokNumber
	tokString
)

type token struct {
	kind tokKind
	text string // the punctuator or name; the literal's source for others
	pos  int
}

type lexer struct {
	src string
	pos int
}

func (l *lexer) next() (token, error) {
	// Ignored tokens: whitespace, line terminators, commas, comments, BOM.
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',':
			l.pos++
			continue
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' && l.src[l.pos] != '\r' {
				l.pos++
			}
			continue
		case c == 0xEF && len(l.src)-l.pos >= 3 && l.src[l.pos:l.pos+3] == "\uFEFF":
			l.pos += 3
			continue
		}
		break
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	c := l.src[l.pos]
	switch {
	case c == '.':
		if len(l.src)-l.pos >= 3 && l.src[l.pos:l.pos+3] == "..." {
			l.pos += 3
			return token{tokPunct, "...", start}, nil
		}
		return token{}, limitf("Syntax Error: Unexpected character %q at offset %d.", c, start)
	case c == '!' || c == '$' || c == '&' || c == '(' || c == ')' || c == ':' || c == '=' || c == '@' || c == '[' || c == ']' || c == '{' || c == '|' || c == '}':
		l.pos++
		return token{tokPunct, l.src[start:l.pos], start}, nil
	case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
		for l.pos < len(l.src) && isNameByte(l.src[l.pos]) {
			l.pos++
		}
		return token{tokName, l.src[start:l.pos], start}, nil
	case c == '-' || c >= '0' && c <= '9':
		return l.number(start)
	case c == '"':
		return l.string(start)
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	return token{}, limitf("Syntax Error: Unexpected character %q at offset %d.", r, start)
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number reads an IntValue or FloatValue.
func (l *lexer) number(start int) (token, error) {
	bad := func() (token, error) {
		return token{}, limitf("Syntax Error: Invalid number at offset %d.", start)
	}
	if l.src[l.pos] == '-' {
		l.pos++
	}
	digits := func() int {
		n := 0
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
			n++
		}
		return n
	}
	intStart := l.pos
	if n := digits(); n == 0 || n > 1 && l.src[intStart] == '0' {
		return bad()
	}
	if l.pos < len(l.src) && l.src[l.pos] == '.' {
		l.pos++
		if digits() == 0 {
			return bad()
		}
	}
	if l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') {
		l.pos++
		if l.pos < len(l.src) && (l.src[l.pos] == '+' || l.src[l.pos] == '-') {
			l.pos++
		}
		if digits() == 0 {
			return bad()
		}
	}
	// A number may not run straight into a name or a dot.
	if l.pos < len(l.src) && (isNameByte(l.src[l.pos]) || l.src[l.pos] == '.') {
		return bad()
	}
	return token{tokNumber, l.src[start:l.pos], start}, nil
}

// string reads a StringValue, plain or block.
func (l *lexer) string(start int) (token, error) {
	if len(l.src)-l.pos >= 3 && l.src[l.pos:l.pos+3] == `"""` {
		l.pos += 3
		for l.pos < len(l.src) {
			switch {
			case len(l.src)-l.pos >= 4 && l.src[l.pos:l.pos+4] == `\"""`:
				l.pos += 4
			case len(l.src)-l.pos >= 3 && l.src[l.pos:l.pos+3] == `"""`:
				l.pos += 3
				return token{tokString, l.src[start:l.pos], start}, nil
			default:
				l.pos++
			}
		}
		return token{}, limitf("Syntax Error: Unterminated string at offset %d.", start)
	}
	l.pos++
	for l.pos < len(l.src) {
		switch c := l.src[l.pos]; c {
		case '"':
			l.pos++
			return token{tokString, l.src[start:l.pos], start}, nil
		case '\\':
			l.pos += 2
		case '\n', '\r':
			return token{}, limitf("Syntax Error: Unterminated string at offset %d.", start)
		default:
			l.pos++
		}
	}
	return token{}, limitf("Syntax Error: Unterminated string at offset %d.", start)
}
