package data

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// readErr reads path to the end and returns the first error (nil when the
// whole file reads cleanly).
func readErr(path string, opt Options) error {
	r, err := Open(path, opt)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rec.Release()
	}
}

// TestBadInput checks the exact message for each kind of bad input: it must
// name the file, the data row (1-based, header excluded) and the column.
func TestBadInput(t *testing.T) {
	truncated := func(dir string) string {
		good := filepath.Join(dir, "good.parquet")
		writeSample(t, good)
		b, err := os.ReadFile(good)
		if err != nil {
			t.Fatal(err)
		}
		return string(b[:len(b)-20])
	}
	tests := []struct {
		name, file, content string
		gen                 func(dir string) string // content computed in the test dir
		opt                 Options
		want                string
	}{
		{name: "empty file", file: "e.csv", content: "",
			want: "e.csv: the file is empty; a header row naming the columns is required"},
		{name: "BOM only", file: "e.csv", content: "\xef\xbb\xbf",
			want: "e.csv: the file is empty; a header row naming the columns is required"},
		{name: "bare quote", file: "b.csv", content: "id,text\n1,ok\n2,say \"hi\"\n",
			want: "b.csv: row 2, column \"text\": malformed CSV at line 3: bare quote in an unquoted field; quote the whole field and double the quote (\"\")"},
		{name: "unterminated quote", file: "u.csv", content: "id,text\n1,ok\n2,\"never closed\n3,x\n",
			want: "u.csv: row 2, column \"text\": malformed CSV at line 3: unterminated quoted field: the closing quote is missing"},
		{name: "text after closing quote", file: "q.csv", content: "id,text\n1,\"a\"b\n",
			want: "q.csv: row 1, column \"text\": malformed CSV at line 2: unexpected character after a closing quote; a quote inside a quoted field must be doubled (\"\")"},
		{name: "latin-1 bytes", file: "l.csv", content: "id,name\n1,ok\n2,caf\xe9\n",
			want: "l.csv: row 2, column \"name\": is not valid UTF-8; convert the file to UTF-8 (for example: iconv -f latin1 -t utf-8)"},
		{name: "latin-1 in quoted multi-line field", file: "l.csv", content: "id,name,x\n1,\"a\nb\",1\n2,\"caf\xe9\nz\",2\n",
			want: "l.csv: row 2, column \"name\": is not valid UTF-8; convert the file to UTF-8 (for example: iconv -f latin1 -t utf-8)"},
		{name: "latin-1 header", file: "l.csv", content: "id,caf\xe9\n1,2\n",
			want: "l.csv: header column 2 is not valid UTF-8; convert the file to UTF-8 (for example: iconv -f latin1 -t utf-8)"},
		{name: "ragged row short", file: "r.csv", content: "a,b,c\n1,2,3\n4,5\n",
			want: "r.csv: row 2: has 2 fields but the header has 3 (line 3)"},
		{name: "ragged row long after quoted newline", file: "r.csv", content: "a,b\n\"x\ny\",2\n1,2,3\n",
			want: "r.csv: row 2: has 3 fields but the header has 2 (line 4)"},
		{name: "type override names missing column", file: "m.csv", content: "a,b\n1,2\n",
			opt:  Options{Types: map[string]arrow.DataType{"c": arrow.PrimitiveTypes.Int64}},
			want: "m.csv: column \"c\": a type override names this column but the file has only a, b"},
		{name: "schema lacks a column", file: "m.csv", content: "a,b\n1,2\n",
			opt:  Options{Schema: arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)},
			want: "m.csv: column \"b\": the given schema has no such field"},
		{name: "duplicate header", file: "d.csv", content: "id,text,id\n1,a,2\n",
			want: "d.csv: column \"id\": the header names this column twice (columns 1 and 3)"},
		{name: "empty header name clashing with its generated name", file: "d.csv", content: "column2,,x\n1,a,2\n",
			want: "d.csv: column \"column2\": the header names this column twice (columns 1 and 2)"},
		{name: "non-numeric in overridden int column", file: "n.csv", content: "id,score\n1,5\n2,five\n",
			opt:  Options{Types: map[string]arrow.DataType{"score": arrow.PrimitiveTypes.Int64}},
			want: "n.csv: row 2, column \"score\": \"five\" is not an integer (the column's type was given as int64)"},
		{name: "non-numeric after inference", file: "n.csv", content: "id,score\n1,5\n2,6\n3,x7\n",
			opt:  Options{InferRows: 2},
			want: "n.csv: row 3, column \"score\": \"x7\" is not an integer (the column's type, int64, was inferred from the first 2 rows; override it, e.g. --type score=string)"},
		{name: "float in int column in a later batch", file: "n.csv", content: "id,score\n1,5\n2,6\n3,7\n4,8.5\n",
			opt:  Options{InferRows: 1, BatchSize: 2},
			want: "n.csv: row 4, column \"score\": \"8.5\" is not an integer (the column's type, int64, was inferred from the first 1 rows; override it, e.g. --type score=string)"},
		{name: "bad bool", file: "n.csv", content: "id,ok\n1,true\n2,yes\n",
			opt:  Options{InferRows: 1},
			want: "n.csv: row 2, column \"ok\": \"yes\" is not true or false (the column's type, bool, was inferred from the first 1 rows; override it, e.g. --type ok=string)"},
		{name: "unsupported override type", file: "n.csv", content: "id\n1\n",
			opt:  Options{Types: map[string]arrow.DataType{"id": arrow.PrimitiveTypes.Date32}},
			want: "n.csv: column \"id\": type date32 cannot be read from text; use int64, float64, bool or string"},
		{name: "tsv ragged", file: "t.tsv", content: "a\tb\n1\t2\n3\n",
			want: "t.tsv: row 2: has 1 fields but the header has 2 (line 3)"},
		{name: "jsonl bad line", file: "j.jsonl", content: "{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":}\n",
			want: "j.jsonl: row 2, column \"b\": malformed JSON: invalid character '}' looking for beginning of value"},
		{name: "jsonl not an object", file: "j.jsonl", content: "{\"a\":1}\n[1,2]\n",
			want: "j.jsonl: row 2: is not a JSON object (each line must hold one {...} object)"},
		{name: "jsonl truncated object", file: "j.jsonl", content: "{\"a\":1}\n{\"a\":2\n",
			want: "j.jsonl: row 2: malformed JSON: unexpected end of line"},
		{name: "jsonl two objects on a line", file: "j.jsonl", content: "{\"a\":1} {\"a\":2}\n",
			want: "j.jsonl: row 1: unexpected text after the object at byte 8; put one object on each line"},
		{name: "jsonl string in int field", file: "j.jsonl", content: "{\"a\":1}\n\n{\"a\":\"two\"}\n",
			opt:  Options{InferRows: 1},
			want: "j.jsonl: row 3, column \"a\": \"\\\"two\\\"\" is not an integer (the column's type, int64, was inferred from the first 1 rows; override it, e.g. --type a=string)"},
		{name: "jsonl unknown field", file: "j.jsonl", content: "{\"a\":1}\n{\"a\":2,\"b\":3}\n",
			opt:  Options{InferRows: 1},
			want: "j.jsonl: row 2, column \"b\": this field is not among the columns found in the first 1 objects (a); pass a schema that names it"},
		{name: "jsonl duplicate field", file: "j.jsonl", content: "{\"a\":1,\"a\":2}\n",
			want: "j.jsonl: row 1, column \"a\": the object has this field twice"},
		{name: "jsonl latin-1", file: "j.jsonl", content: "{\"a\":\"caf\xe9\"}\n",
			want: "j.jsonl: row 1, column \"a\": is not valid UTF-8; convert the file to UTF-8 (for example: iconv -f latin1 -t utf-8)"},
		{name: "jsonl empty", file: "j.jsonl", content: "\n\n",
			want: "j.jsonl: the file is empty; JSON Lines input needs at least one object"},
		{name: "truncated parquet", file: "t.parquet", gen: truncated,
			want: "t.parquet: not a readable Parquet file (truncated or corrupt?): parquet: file is smaller than indicated metadata size"},
		{name: "type override on parquet", file: "o.parquet", gen: func(dir string) string {
			p := filepath.Join(dir, "s.parquet")
			writeSample(t, p)
			b, _ := os.ReadFile(p)
			return string(b)
		},
			opt:  Options{Types: map[string]arrow.DataType{"id": arrow.BinaryTypes.String}},
			want: "o.parquet: column \"id\": the file stores this column as int64; type overrides (utf8) apply to text formats only"},
		{name: "csv named parquet", file: "t.parquet", content: "a,b\n1,2\n",
			want: "t.parquet: not a readable Parquet file (truncated or corrupt?): parquet: file too small (size=8)"},
		{name: "truncated arrow", file: "t.arrow", content: "ARROW1\x00\x00\xff\xff",
			want: "t.arrow: not a readable Arrow IPC file (truncated or corrupt?): arrow/ipc: could not decode footer: arrow/ipc: file too small (size=10)"},
		{name: "garbage arrow stream", file: "t.arrows", content: "hello, world, this is not arrow",
			want: "t.arrows: not a readable Arrow IPC file or stream: arrow/ipc: could not read message schema: arrow/ipc: could not read message metadata: unexpected EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			content := tc.content
			if tc.gen != nil {
				content = tc.gen(dir)
			}
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			err := readErr(path, tc.opt)
			if err == nil {
				t.Fatalf("read succeeded; want %q", tc.want)
			}
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error %v is %T, not *data.Error", err, err)
			}
			if got := err.Error(); got != filepath.Join(dir, tc.want) {
				t.Errorf("error\n got: %s\nwant: %s", got, filepath.Join(dir, tc.want))
			}
		})
	}
}
