package data

import (
	"bytes"
	"errors"
	"io"
)

// csvScanner splits RFC 4180 records out of a large read buffer without
// copying: each record's fields are byte ranges of buf, valid until the next
// call to record. A line with no quote in it (the common case) is split with
// two vectorised byte searches; anything quoted goes through a small state
// machine. A record cut by the end of the buffer is re-scanned after the
// buffer is refilled (and grown when one record is bigger than it).
type csvScanner struct {
	r     io.Reader
	buf   []byte
	pos   int // start of the unread bytes
	end   int // end of the valid bytes
	eof   bool
	comma byte
	// lazy treats a quote inside an unquoted field as an ordinary character,
	// and a field that starts with a quote but is not a well-formed quoted
	// field as unquoted text (TSV, where quoting is rare and stray quotes are
	// common).
	lazy bool
	// fills counts refills (tests check that long records stay linear).
	fills int

	// quote is the offset in buf of the next '"' at or after pos (end when
	// there is none), so that lines without quotes are found without
	// searching every line for one.
	quote int

	line    int64 // 1-based line number of the next unread byte
	recLine int64 // line on which the current record starts
	fields  []span
	rec     []byte // the current record's raw bytes (for UTF-8 checks)
}

// span is one field: buf[start:end], with doubled quotes still in it when esc.
type span struct {
	start, end  int
	esc, quoted bool
}

// scanError is a malformed record; the reader turns it into an *Error.
type scanError struct {
	line  int64
	field int // 0-based index of the offending field
	msg   string
}

const minScanBuffer = 4 << 20

func newCSVScanner(r io.Reader, comma byte, lazy bool) *csvScanner {
	// Start small (tests and tiny files) and grow to minScanBuffer on refills.
	return &csvScanner{r: r, buf: make([]byte, 64<<10), comma: comma, lazy: lazy, line: 1, quote: -1}
}

// skipBOM drops a UTF-8 byte-order mark at the start of the input.
func (s *csvScanner) skipBOM() error {
	for s.end-s.pos < 3 && !s.eof {
		if err := s.fill(); err != nil {
			return err
		}
	}
	if bytes.HasPrefix(s.buf[s.pos:s.end], []byte("\xef\xbb\xbf")) {
		s.pos += 3
	}
	return nil
}

// fill moves the unread bytes to the front of the buffer (growing it when
// they fill it, or while it is below minScanBuffer) and reads more.
func (s *csvScanner) fill() error {
	s.fills++
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.pos, s.end = 0, n
	}
	s.quote = -1 // recompute over the refilled buffer
	if s.end == len(s.buf) || len(s.buf) < minScanBuffer {
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	// Fill the whole free space: a reader that returns a little at a time
	// (gzip, a pipe) would otherwise have a long record re-scanned after
	// every short read, quadratic in its length (a 100 MB line took 153 s
	// gzipped against 5.8 s plain). Filled, a record is re-scanned once per
	// doubling of the buffer.
	for s.end < len(s.buf) {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if errors.Is(err, io.EOF) {
			s.eof = true
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// record scans the next non-blank record into s.fields. It returns false at
// the end of the input.
func (s *csvScanner) record() (bool, *scanError, error) {
	for {
		if s.pos == s.end {
			if s.eof {
				return false, nil, nil
			}
			if err := s.fill(); err != nil {
				return false, nil, err
			}
			continue
		}
		ok, more, serr := s.try()
		if serr != nil {
			return false, serr, nil
		}
		if more {
			if err := s.fill(); err != nil {
				return false, nil, err
			}
			continue
		}
		if ok {
			return true, nil, nil
		}
		// a blank line: skip it
	}
}

// try scans one record from buf[pos:end]. more means the record may continue
// past end and the buffer must be refilled first (never at EOF); !ok && !more
// means a blank line was skipped.
func (s *csvScanner) try() (ok, more bool, serr *scanError) {
	b := s.buf[s.pos:s.end]
	nl := bytes.IndexByte(b, '\n')
	var line []byte
	next := 0
	switch {
	case nl >= 0:
		line, next = b[:nl], nl+1
	case s.eof:
		line, next = b, len(b)
	default:
		return false, true, nil
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if s.quote < s.pos {
		if k := bytes.IndexByte(s.buf[s.pos:s.end], '"'); k >= 0 {
			s.quote = s.pos + k
		} else {
			s.quote = s.end
		}
	}
	if s.quote < s.pos+len(line) {
		return s.quoted()
	}
	s.recLine = s.line
	s.line++
	if len(line) == 0 {
		s.pos += next
		return false, false, nil
	}
	s.fields = s.fields[:0]
	base, start := s.pos, 0
	for {
		i := bytes.IndexByte(line[start:], s.comma)
		if i < 0 {
			break
		}
		s.fields = append(s.fields, span{start: base + start, end: base + start + i})
		start += i + 1
	}
	s.fields = append(s.fields, span{start: base + start, end: base + len(line)})
	s.rec = line
	s.pos += next
	return true, false, nil
}

// quoted scans a record that has a quote somewhere on its first line.
func (s *csvScanner) quoted() (ok, more bool, serr *scanError) {
	b := s.buf[:s.end]
	i := s.pos
	line := s.line
	s.fields = s.fields[:0]
	for {
		fi := len(s.fields)
		if i < len(b) && b[i] == '"' {
			startLine, fieldStart := line, i
			i++
			start := i
			esc := false
			for {
				k := bytes.IndexByte(b[i:], '"')
				if k < 0 {
					if !s.eof {
						return false, true, nil
					}
					if s.lazy {
						i, line = fieldStart, startLine
						goto unquoted
					}
					return false, false, &scanError{line: startLine, field: fi, msg: "unterminated quoted field: the closing quote is missing"}
				}
				line += int64(bytes.Count(b[i:i+k], []byte{'\n'}))
				i += k
				if i+1 < len(b) && b[i+1] == '"' {
					esc = true
					i += 2
					continue
				}
				if i+1 == len(b) && !s.eof {
					return false, true, nil
				}
				break
			}
			s.fields = append(s.fields, span{start: start, end: i, esc: esc, quoted: true})
			i++ // the closing quote
			if i == len(b) {
				break
			}
			switch c := b[i]; {
			case c == s.comma:
				i++
				continue
			case c == '\n':
				i++
				line++
			case c == '\r' && i+1 < len(b) && b[i+1] == '\n':
				i += 2
				line++
			case c == '\r' && i+1 == len(b) && !s.eof:
				return false, true, nil
			case c == '\r' && i+1 == len(b):
				i++
			default:
				if s.lazy {
					// not a quoted field after all: "a" b is the text "a" b
					s.fields = s.fields[:fi]
					i, line = fieldStart, startLine
					goto unquoted
				}
				return false, false, &scanError{line: line, field: fi, msg: "unexpected character after a closing quote; a quote inside a quoted field must be doubled (\"\")"}
			}
			break
		}
	unquoted:
		start := i
		for i < len(b) {
			c := b[i]
			if c == s.comma || c == '\n' {
				break
			}
			if c == '"' && !s.lazy {
				return false, false, &scanError{line: line, field: fi, msg: "bare quote in an unquoted field; quote the whole field and double the quote (\"\")"}
			}
			i++
		}
		if i == len(b) && !s.eof {
			return false, true, nil
		}
		if i < len(b) && b[i] == s.comma {
			s.fields = append(s.fields, span{start: start, end: i})
			i++
			continue
		}
		e := i
		if e > start && b[e-1] == '\r' {
			e--
		}
		s.fields = append(s.fields, span{start: start, end: e})
		if i < len(b) {
			i++ // the newline
			line++
		}
		break
	}
	s.rec = b[s.pos:i]
	s.recLine = s.line
	s.line = line
	s.pos = i
	return true, false, nil
}

// value returns field f's bytes, with doubled quotes collapsed into scratch
// when needed.
func (s *csvScanner) value(f span, scratch *[]byte) []byte {
	v := s.buf[f.start:f.end]
	if !f.esc {
		return v
	}
	*scratch = appendUnescaped((*scratch)[:0], v)
	return *scratch
}

// appendUnescaped appends v with each doubled quote collapsed to one.
func appendUnescaped(dst, v []byte) []byte {
	for {
		k := bytes.IndexByte(v, '"')
		if k < 0 || k+1 >= len(v) {
			return append(dst, v...)
		}
		dst = append(dst, v[:k+1]...)
		v = v[k+2:]
	}
}
