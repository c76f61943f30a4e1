package data

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// jsonlEncoder writes one JSON object per row: numbers and booleans as JSON
// numbers and booleans, nulls (and NaN or infinite floats, which JSON cannot
// hold) as null, everything else as a string.
type jsonlEncoder struct {
	bw   *bufio.Writer
	keys [][]byte // each field name, quoted, with its colon
	line []byte
}

func newJSONLEncoder(w io.Writer, schema *arrow.Schema) *jsonlEncoder {
	e := &jsonlEncoder{bw: bufio.NewWriterSize(w, 1<<20)}
	for _, f := range schema.Fields() {
		e.keys = append(e.keys, append(appendJSONString(nil, f.Name), ':'))
	}
	return e
}

func (e *jsonlEncoder) write(rec arrow.RecordBatch) error {
	if int(rec.NumCols()) != len(e.keys) {
		return fmt.Errorf("the batch has %d columns but the schema has %d", rec.NumCols(), len(e.keys))
	}
	cols := rec.Columns()
	var cell []byte
	for r := 0; r < int(rec.NumRows()); r++ {
		e.line = append(e.line[:0], '{')
		for c, col := range cols {
			if c > 0 {
				e.line = append(e.line, ',')
			}
			e.line = append(e.line, e.keys[c]...)
			e.line = appendJSONValue(e.line, col, r, &cell)
		}
		e.line = append(e.line, '}', '\n')
		if _, err := e.bw.Write(e.line); err != nil {
			return err
		}
	}
	return nil
}

func (e *jsonlEncoder) close() error { return e.bw.Flush() }

func appendJSONValue(dst []byte, col arrow.Array, i int, cell *[]byte) []byte {
	if col.IsNull(i) || col.DataType().ID() == arrow.NULL {
		return append(dst, "null"...)
	}
	switch a := col.(type) {
	case *array.Int64, *array.Int32, *array.Int16, *array.Int8,
		*array.Uint64, *array.Uint32, *array.Uint16, *array.Uint8, *array.Boolean:
		return appendValue(dst, col, i)
	case *array.Float64:
		return appendJSONFloat(dst, a.Value(i), 64)
	case *array.Float32:
		return appendJSONFloat(dst, float64(a.Value(i)), 32)
	case *array.Dictionary:
		return appendJSONValue(dst, a.Dictionary(), a.GetValueIndex(i), cell)
	}
	*cell = appendValue((*cell)[:0], col, i)
	return appendJSONString(dst, unsafeString(*cell))
}

func appendJSONFloat(dst []byte, v float64, bits int) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, bits)
}

// appendJSONString quotes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
