package data

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// colKind is the physical layout a text column is parsed into.
type colKind uint8

const (
	kString colKind = iota
	kLargeString
	kInt64
	kFloat64
	kBool
)

func kindOf(t arrow.DataType) (colKind, bool) {
	switch t.ID() {
	case arrow.STRING:
		return kString, true
	case arrow.LARGE_STRING:
		return kLargeString, true
	case arrow.INT64:
		return kInt64, true
	case arrow.FLOAT64:
		return kFloat64, true
	case arrow.BOOL:
		return kBool, true
	}
	return 0, false
}

// column accumulates one column of a batch in plain Go slices, which the
// text readers append to directly (no per-value builder calls); finish hands
// the slices to Arrow without copying. A fresh set of slices is started for
// every batch because the finished arrays keep referencing the old ones.
type column struct {
	kind  colKind
	typ   arrow.DataType
	n     int
	nulls int
	valid []byte // validity bitmap; nil while the column has no nulls

	offsets  []int32 // kString
	loffsets []int64 // kLargeString
	data     []byte  // string bytes
	ints     []int64
	floats   []float64
	bits     []byte // kBool values
}

func newColumn(t arrow.DataType) *column {
	k, _ := kindOf(t)
	return &column{kind: k, typ: t}
}

// reset starts a new batch, sizing the slices like the previous batch's.
func (c *column) reset(rows int) {
	rows = min(rows, 1<<17) // a huge BatchSize grows the slices as needed instead
	dataCap := 0
	if c.n > 0 {
		dataCap = len(c.data) + len(c.data)/8
	}
	c.n, c.nulls, c.valid = 0, 0, nil
	switch c.kind {
	case kString:
		c.offsets = make([]int32, 1, rows+1)
		c.data = make([]byte, 0, dataCap)
	case kLargeString:
		c.loffsets = make([]int64, 1, rows+1)
		c.data = make([]byte, 0, dataCap)
	case kInt64:
		c.ints = make([]int64, 0, rows)
	case kFloat64:
		c.floats = make([]float64, 0, rows)
	case kBool:
		c.bits = make([]byte, 0, bitutil.BytesForBits(int64(rows)))
	}
}

// endString records the end of the string value just appended to c.data.
func (c *column) endString() {
	if c.kind == kString {
		c.offsets = append(c.offsets, int32(len(c.data)))
	} else {
		c.loffsets = append(c.loffsets, int64(len(c.data)))
	}
	c.n++
}

func (c *column) appendString(v []byte) {
	c.data = append(c.data, v...)
	c.endString()
	c.noteValid()
}

func (c *column) appendInt(v int64) {
	c.ints = append(c.ints, v)
	c.n++
	c.noteValid()
}

func (c *column) appendFloat(v float64) {
	c.floats = append(c.floats, v)
	c.n++
	c.noteValid()
}

func (c *column) appendBool(v bool) {
	c.pushBool(v)
	c.noteValid()
}

func (c *column) pushBool(v bool) {
	if c.n%8 == 0 {
		c.bits = append(c.bits, 0)
	}
	if v {
		c.bits[c.n/8] |= 1 << (c.n % 8)
	}
	c.n++
}

// noteValid marks the value just appended as valid once the column tracks
// validity (only after its first null, so null-free columns pay one branch).
func (c *column) noteValid() {
	if c.valid != nil {
		c.growValid()
		c.valid[(c.n-1)/8] |= 1 << ((c.n - 1) % 8)
	}
}

func (c *column) growValid() {
	for len(c.valid) < (c.n+7)/8 {
		c.valid = append(c.valid, 0)
	}
}

func (c *column) appendNull() {
	if c.valid == nil {
		c.valid = make([]byte, (c.n+8)/8, (c.n+8)/8+64)
		for i := 0; i < c.n; i++ {
			c.valid[i/8] |= 1 << (i % 8)
		}
	}
	c.nulls++
	switch c.kind {
	case kString, kLargeString:
		c.endString()
	case kInt64:
		c.ints = append(c.ints, 0)
		c.n++
	case kFloat64:
		c.floats = append(c.floats, 0)
		c.n++
	case kBool:
		c.pushBool(false)
	}
	c.growValid() // the new bit stays 0: null
}

func bytesOf[T int32 | int64 | float64](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

// finish returns the batch's array.
func (c *column) finish() arrow.Array {
	var valid *memory.Buffer
	if c.nulls > 0 {
		valid = memory.NewBufferBytes(c.valid[:bitutil.BytesForBits(int64(c.n))])
	}
	var bufs []*memory.Buffer
	switch c.kind {
	case kString:
		bufs = []*memory.Buffer{valid, memory.NewBufferBytes(bytesOf(c.offsets)), memory.NewBufferBytes(c.data)}
	case kLargeString:
		bufs = []*memory.Buffer{valid, memory.NewBufferBytes(bytesOf(c.loffsets)), memory.NewBufferBytes(c.data)}
	case kInt64:
		bufs = []*memory.Buffer{valid, memory.NewBufferBytes(bytesOf(c.ints))}
	case kFloat64:
		bufs = []*memory.Buffer{valid, memory.NewBufferBytes(bytesOf(c.floats))}
	case kBool:
		bufs = []*memory.Buffer{valid, memory.NewBufferBytes(c.bits)}
	}
	d := array.NewData(c.typ, c.n, bufs, nil, c.nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// parseInt parses a base-10 integer without allocating; it falls back to
// strconv for anything unusual (signs, overflow, underscores are rejected).
func parseInt(b []byte) (int64, bool) {
	if n := len(b); n > 0 && n < 19 {
		var v int64
		i := 0
		neg := false
		if b[0] == '-' || b[0] == '+' {
			neg = b[0] == '-'
			i = 1
			if n == 1 {
				return 0, false
			}
		}
		for ; i < n; i++ {
			d := b[i] - '0'
			if d > 9 {
				return 0, false
			}
			v = v*10 + int64(d)
		}
		if neg {
			v = -v
		}
		return v, true
	}
	v, err := strconv.ParseInt(unsafeString(b), 10, 64)
	return v, err == nil
}

func parseFloat(b []byte) (float64, bool) {
	v, err := strconv.ParseFloat(unsafeString(b), 64)
	if err != nil {
		// strconv reports ±Inf for out-of-range values with an error; keep
		// them as the infinities they round to, like most CSV readers.
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange && math.IsInf(v, 0) {
			return v, true
		}
		return 0, false
	}
	return v, true
}

// parseBoolBytes accepts true/false in any case.
func parseBoolBytes(b []byte) (bool, bool) {
	switch len(b) {
	case 4:
		if (b[0]|0x20) == 't' && (b[1]|0x20) == 'r' && (b[2]|0x20) == 'u' && (b[3]|0x20) == 'e' {
			return true, true
		}
	case 5:
		if (b[0]|0x20) == 'f' && (b[1]|0x20) == 'a' && (b[2]|0x20) == 'l' && (b[3]|0x20) == 's' && (b[4]|0x20) == 'e' {
			return false, true
		}
	}
	return false, false
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func unsafeBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

func trimSpaceASCII(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// quoteValue shortens a bad value for an error message.
func quoteValue(v []byte) string {
	s := string(v)
	if len(s) > 40 {
		cut := 40
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut-- // do not split a character
		}
		s = s[:cut] + "…"
	}
	return fmt.Sprintf("%q", s)
}
