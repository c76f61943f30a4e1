package data

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
)

// openBytes reads in-memory text input the way Open reads a file.
func openBytes(b []byte, format Format, opt Options) (*Reader, error) {
	opt.withDefaults()
	rc := io.NopCloser(bytes.NewReader(b))
	var src source
	var err error
	switch format {
	case CSV:
		src, err = newDelimited(rc, "fuzz.csv", ',', &opt)
	case TSV:
		src, err = newDelimited(rc, "fuzz.tsv", '\t', &opt)
	case JSONL:
		src, err = newJSONL(rc, "fuzz.jsonl", &opt)
	}
	if err != nil {
		return nil, err
	}
	return &Reader{path: "fuzz", opt: opt, src: src}, nil
}

// readCells reads everything as cell text; ok is false on an error, which
// must then be an *Error.
func readCells(t *testing.T, b []byte, format Format, opt Options) (*arrow.Schema, [][]string, bool) {
	r, err := openBytes(b, format, opt)
	if err != nil {
		var de *Error
		if !errors.As(err, &de) {
			t.Fatalf("open: %v is %T, not *data.Error", err, err)
		}
		return nil, nil, false
	}
	defer r.Close()
	var rows [][]string
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("next: %v is %T, not *data.Error", err, err)
			}
			return nil, nil, false
		}
		if rec.NumRows() > int64(r.opt.BatchSize) {
			t.Fatalf("batch of %d rows, BatchSize %d", rec.NumRows(), r.opt.BatchSize)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]string, rec.NumCols())
			for c := range row {
				row[c] = FormatValue(rec.Column(c), i)
			}
			rows = append(rows, row)
		}
		rec.Release()
	}
	return r.Schema(), rows, true
}

// checkRewrite writes what was read as CSV and reads it back with the same
// schema: the cells must be unchanged.
func checkRewrite(t *testing.T, sch *arrow.Schema, rows [][]string, b []byte, format Format, opt Options) {
	r, err := openBytes(b, format, Options{BatchSize: 7, InferRows: opt.InferRows})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out bytes.Buffer
	enc, _ := newCSVEncoder(&out, ',', r.Schema())
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("second read failed: %v", err)
		}
		if err := enc.write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := enc.close(); err != nil {
		t.Fatal(err)
	}
	sch2, rows2, ok := readCells(t, out.Bytes(), CSV, Options{Schema: sch})
	if !ok {
		_, err := openBytes(out.Bytes(), CSV, Options{Schema: sch})
		t.Fatalf("the CSV writer's output does not read back: %v\n%q", err, out.Bytes())
	}
	if !sch2.Equal(sch) {
		t.Fatalf("schema %v, read back %v", sch, sch2)
	}
	if !reflect.DeepEqual(rows, rows2) {
		t.Fatalf("cells changed through the CSV writer:\n%q\n%q\nCSV: %q", rows, rows2, out.Bytes())
	}
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n",
		"a,b\r\n1,\"x\r\ny\"\r\n",
		"\xef\xbb\xbfid,text\n1,\"say \"\"hi\"\"\"\n2,\n",
		"a\n\"\"\n\n\"x\"",
		"a,b\n1,\"unterminated\n",
		"a,b\n1,bare\"quote\n",
		"a,b\n1,\"x\"y\n",
		"a,b\n1\n",
		"a,a\n1,2\n",
		"a,b\n1,caf\xe9\n",
		"x,y,z\n1,2.5,true\n,NaN,FALSE\n-3,1e400,\n",
		"t\n\"\\.\"\n lead\n",
		"a,b\n\"multi\nline\",\"\"\"\"\n",
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(2))
	}
	f.Add([]byte("a\tb\n\"x\" y\t1\n\"open\t2\n"), uint8(128))
	f.Fuzz(func(t *testing.T, b []byte, mode uint8) {
		format := CSV
		if mode >= 128 {
			format = TSV
		}
		opt := Options{BatchSize: 3, InferRows: int(mode%4) + 1}
		sch, rows, ok := readCells(t, b, format, opt)
		if !ok {
			return
		}
		checkRewrite(t, sch, rows, b, format, opt)
		// selecting the columns in reverse order gives the same cells reversed
		var rev []string
		for i := sch.NumFields() - 1; i >= 0; i-- {
			rev = append(rev, sch.Field(i).Name)
		}
		opt.Columns = rev
		_, rrows, ok := readCells(t, b, format, opt)
		if !ok {
			t.Fatalf("reading the columns in reverse failed")
		}
		for i := range rows {
			for j := range rows[i] {
				if rows[i][j] != rrows[i][len(rev)-1-j] {
					t.Fatalf("row %d column %d: %q, reversed read %q", i, j, rows[i][j], rrows[i][len(rev)-1-j])
				}
			}
		}
	})
}

func FuzzJSONL(f *testing.F) {
	for _, s := range []string{
		"{\"a\":1,\"b\":\"x\"}\n{\"a\":2.5}\n",
		"{\"a\":null}\n\n{\"a\":[1,{\"b\":2}]}\n",
		"{\"a\":1}\n{\"a\":2,\"b\":3}\n",
		"{\"a\":1,\"a\":2}\n",
		"{\"a\":\"caf\xe9\"}\n",
		"[1]\n",
		"{\"a\":1} x\n",
		"{\"a\":true}\n{\"a\":\"t\"}\n",
		"{\"a\":\"line\\nbreak \\\"q\\\" \\u00e9\"}",
		"{\"a\":99999999999999999999}\n",
		"{\"a\":-0.5e+3,\"b\":[1,\"]\"],\"c\":{\"d\":\"\\u00e9\"}}\n",
		"{\"a\":01}\n{\"a\":1.}\n{\"a\":\"\\x\"}\n",
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, infer uint8) {
		// the fast object scanner agrees with encoding/json whenever it accepts
		for _, line := range bytes.Split(b, []byte("\n")) {
			line = bytes.TrimSpace(line)
			fast, ok := scanObject(line, nil)
			if !ok || len(line) == 0 || !utf8.Valid(line) {
				continue
			}
			j := &jsonl{path: "fuzz"}
			slow, err := j.parseSlow(line)
			if err != nil {
				if utf8.Valid(line) {
					t.Fatalf("scanObject accepted %q; encoding/json: %v", line, err)
				}
				continue
			}
			if !reflect.DeepEqual(fast, slow) && !(len(fast) == 0 && len(slow) == 0) {
				t.Fatalf("%q: scanObject %q, encoding/json %q", line, fast, slow)
			}
		}
		opt := Options{BatchSize: 2, InferRows: int(infer%4) + 1}
		sch, rows, ok := readCells(t, b, JSONL, opt)
		if !ok {
			return
		}
		checkRewrite(t, sch, rows, b, JSONL, opt)
	})
}
