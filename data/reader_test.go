package data

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// table reads a whole file as rows of cell text (FormatValue) plus the
// column types.
func table(t testing.TB, path string, opt Options) ([]string, [][]string) {
	t.Helper()
	sch, recs, err := ReadAll(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, f := range sch.Fields() {
		types = append(types, f.Name+":"+f.Type.String())
	}
	var rows [][]string
	for _, rec := range recs {
		for r := 0; r < int(rec.NumRows()); r++ {
			row := make([]string, rec.NumCols())
			for c := range row {
				row[c] = FormatValue(rec.Column(c), r)
			}
			rows = append(rows, row)
		}
		rec.Release()
	}
	return types, rows
}

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name, file, content string
		opt                 Options
		types               []string
		rows                [][]string
	}{
		{name: "quoted newline and doubled quotes", file: "a.csv",
			content: "id,text\n1,\"two\nlines\"\n2,\"say \"\"hi\"\"\"\n",
			types:   []string{"id:int64", "text:utf8"},
			rows:    [][]string{{"1", "two\nlines"}, {"2", `say "hi"`}}},
		{name: "CRLF line ends, quoted CRLF kept", file: "a.csv",
			content: "id,text\r\n1,a\r\n2,\"b\r\nc\"\r\n3,\"d\"\r\n",
			types:   []string{"id:int64", "text:utf8"},
			rows:    [][]string{{"1", "a"}, {"2", "b\r\nc"}, {"3", "d"}}},
		{name: "--delimiter ';' with a quoted separator", file: "a.csv", opt: Options{Delimiter: ';'},
			content: "id;text\n1;\"a;b\"\n2;c,d\n",
			types:   []string{"id:int64", "text:utf8"},
			rows:    [][]string{{"1", "a;b"}, {"2", "c,d"}}},
		{name: "--delimiter | on a TSV file", file: "a.tsv", opt: Options{Delimiter: '|'},
			content: "id|text\n1|x\n",
			types:   []string{"id:int64", "text:utf8"},
			rows:    [][]string{{"1", "x"}}},
		{name: "BOM, blank lines, no final newline", file: "a.csv",
			content: "\xef\xbb\xbfid,text\n\n1,a\n\r\n2,\"b\"",
			types:   []string{"id:int64", "text:utf8"},
			rows:    [][]string{{"1", "a"}, {"2", "b"}}},
		{name: "empty fields: null numbers, empty strings", file: "a.csv",
			content: "a,b,c,d\n1,,x,\n,2.5,,true\n",
			types:   []string{"a:int64", "b:float64", "c:utf8", "d:bool"},
			rows:    [][]string{{"1", "", "x", ""}, {"", "2.5", "", "true"}}},
		{name: "inference: int, float, bool, string", file: "a.csv",
			content: "i,f,b,s,e\n-1,1,TRUE,1,\n+2,2.5e3,false,x,\n",
			types:   []string{"i:int64", "f:float64", "b:bool", "s:utf8", "e:utf8"},
			rows:    [][]string{{"-1", "1", "true", "1", ""}, {"2", "2500", "false", "x", ""}}},
		{name: "header names trimmed, quoted header", file: "a.csv",
			content: " id ,\"te,xt\"\n1,a\n",
			types:   []string{"id:int64", "te,xt:utf8"},
			rows:    [][]string{{"1", "a"}}},
		{name: "empty header name (a pandas index)", file: "a.csv", content: ",a\n0,x\n1,y\n",
			types: []string{"column1:int64", "a:utf8"}, rows: [][]string{{"0", "x"}, {"1", "y"}}},
		{name: "header only", file: "a.csv", content: "a,b\n",
			types: []string{"a:utf8", "b:utf8"}},
		{name: "quoted field at EOF then CR", file: "a.csv", content: "a\n\"x\"\r",
			types: []string{"a:utf8"}, rows: [][]string{{"x"}}},
		{name: "type override", file: "a.csv", content: "a,b\n1,2\n",
			opt:   Options{Types: map[string]arrow.DataType{"a": arrow.BinaryTypes.String, "b": arrow.PrimitiveTypes.Float64}},
			types: []string{"a:utf8", "b:float64"}, rows: [][]string{{"1", "2"}}},
		{name: "schema", file: "a.csv", content: "a,b\ntrue,2\n",
			opt: Options{Schema: arrow.NewSchema([]arrow.Field{
				{Name: "b", Type: arrow.BinaryTypes.LargeString}, {Name: "a", Type: arrow.FixedWidthTypes.Boolean}}, nil)},
			types: []string{"a:bool", "b:large_utf8"}, rows: [][]string{{"true", "2"}}},
		{name: "TSV with stray quote", file: "a.tsv",
			content: "a\tb\n1\tsay \"hi\n2\t\"x\ty\"\n",
			types:   []string{"a:int64", "b:utf8"},
			rows:    [][]string{{"1", `say "hi`}, {"2", "x\ty"}}},
		{name: "TSV field that only starts with a quote", file: "a.tsv",
			content: "a\tb\n\"Best\" song ever\t1\n\"open\t2\n",
			types:   []string{"a:utf8", "b:int64"},
			rows:    [][]string{{`"Best" song ever`, "1"}, {`"open`, "2"}}},
		{name: "unicode", file: "a.csv", content: "a\nZoë ✓ 😀\n",
			types: []string{"a:utf8"}, rows: [][]string{{"Zoë ✓ 😀"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.file, tc.content)
			types, rows := table(t, p, tc.opt)
			if !reflect.DeepEqual(types, tc.types) {
				t.Errorf("types %v, want %v", types, tc.types)
			}
			if !reflect.DeepEqual(rows, tc.rows) {
				t.Errorf("rows %q, want %q", rows, tc.rows)
			}
		})
	}
}

// TestCSVMatchesEncodingCSV reads the real YouTube comments and compares
// every cell with what encoding/csv makes of the same files.
func TestCSVMatchesEncodingCSV(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedData(t), "youtube_spam_uci", "*.csv"))
	if len(files) == 0 {
		t.Skip("youtube_spam_uci not found in shared data")
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			want, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			str := map[string]arrow.DataType{}
			for _, h := range want[0] {
				str[strings.TrimSpace(h)] = arrow.BinaryTypes.String
			}
			_, got := table(t, p, Options{Types: str, BatchSize: 100})
			if len(got) != len(want)-1 {
				t.Fatalf("%d rows, encoding/csv has %d", len(got), len(want)-1)
			}
			for i, row := range got {
				for j, v := range row {
					// encoding/csv turns a quoted \r\n into \n; dawn keeps the bytes.
					if w := want[i+1][j]; strings.ReplaceAll(v, "\r\n", "\n") != w {
						t.Fatalf("row %d col %d: %q, encoding/csv: %q", i+1, j, v, w)
					}
				}
			}
		})
	}
}

func TestReadJSONL(t *testing.T) {
	p := filepath.Join("testdata", "tricky.jsonl")
	types, rows := table(t, p, Options{})
	wantTypes := []string{"id:int64", "name:utf8", "score:float64", "tags:utf8", "ok:bool", "meta:utf8", "mixed:utf8"}
	if !reflect.DeepEqual(types, wantTypes) {
		t.Errorf("types %v, want %v", types, wantTypes)
	}
	want := [][]string{
		{"1", "Ann", "1", `["a","b"]`, "true", "", ""},
		{"2", `Bob "B"`, "2.5", "", "false", `{"k":1}`, ""},
		{"3", "", "", "", "", "", "1"},
		{"4", "Zoë\nnew", "", "", "", "", "x"},
		{"5", "", "", `{"nested":[1,{"deep":null}]}`, "", "", "true"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows\n%q\nwant\n%q", rows, want)
	}
	// a null in a string column is null, not an empty string
	_, recs, err := ReadAll(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer recs[0].Release()
	if !recs[0].Column(1).IsNull(2) || recs[0].Column(1).IsNull(0) {
		t.Error("name: want row 3 null and row 1 valid")
	}
	// with a schema, other keys are ignored and missing ones are null
	sch := arrow.NewSchema([]arrow.Field{{Name: "ok", Type: arrow.FixedWidthTypes.Boolean}, {Name: "id", Type: arrow.PrimitiveTypes.Float64}}, nil)
	types, rows = table(t, p, Options{Schema: sch})
	if want := []string{"ok:bool", "id:float64"}; !reflect.DeepEqual(types, want) {
		t.Errorf("types %v, want %v", types, want)
	}
	if want := [][]string{{"true", "1"}, {"false", "2"}, {"", "3"}, {"", "4"}, {"", "5"}}; !reflect.DeepEqual(rows, want) {
		t.Errorf("rows %q, want %q", rows, want)
	}
}

// TestGoldenJSONLToCSV converts testdata/tricky.jsonl to CSV and compares it
// with testdata/tricky.jsonl.golden.csv (go test -run Golden -update rewrites it).
func TestGoldenJSONLToCSV(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.csv")
	convert(t, filepath.Join("testdata", "tricky.jsonl"), out, Options{})
	got, _ := os.ReadFile(out)
	golden := filepath.Join("testdata", "tricky.jsonl.golden.csv")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// convert copies in to out batch by batch.
func convert(t testing.TB, in, out string, opt Options) {
	t.Helper()
	r, err := Open(in, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := Create(out, r.Schema(), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			w.Abort()
			t.Fatal(err)
		}
		err = w.Write(rec)
		rec.Release()
		if err != nil {
			w.Abort()
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRoundTrip: CSV → Parquet/Arrow/TSV → CSV gives back the same bytes,
// quoted newlines, doubled quotes, CRLF inside quotes, nulls and all; a BOM
// is read past and not written back.
func TestRoundTrip(t *testing.T) {
	src := filepath.Join("testdata", "tricky.csv")
	want, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, via := range []string{"parquet", "arrow", "arrows", "tsv", "csv", "jsonl"} {
		for _, in := range []string{"tricky.csv", "bom.csv"} {
			t.Run(via+"/"+in, func(t *testing.T) {
				dir := t.TempDir()
				mid := filepath.Join(dir, "mid."+via)
				out := filepath.Join(dir, "out.csv")
				convert(t, filepath.Join("testdata", in), mid, Options{BatchSize: 4})
				convert(t, mid, out, Options{BatchSize: 3})
				got, _ := os.ReadFile(out)
				want := want
				if via == "jsonl" {
					// JSON has no NaN: it is written as null
					want = bytes.Replace(want, []byte(",NaN,"), []byte(",,"), 1)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("round trip through %s changed the file:\n%q\nwant\n%q", via, got, want)
				}
			})
		}
	}
}

// TestBatchesBounded: batches never exceed BatchSize and inference reads at
// most InferRows rows before the first batch, for every format.
func TestBatchesBounded(t *testing.T) {
	dir := t.TempDir()
	var sb strings.Builder
	sb.WriteString("id,text\n")
	var jl strings.Builder
	for i := range 2500 {
		sb.WriteString(strings.Repeat("x", i%7) + "," + "row\n")
		jl.WriteString(`{"id":1,"text":"row"}` + "\n")
		_ = i
	}
	csvPath := filepath.Join(dir, "in.csv")
	os.WriteFile(csvPath, []byte(sb.String()), 0o644)
	jsonPath := filepath.Join(dir, "in.jsonl")
	os.WriteFile(jsonPath, []byte(jl.String()), 0o644)
	paths := []string{csvPath, jsonPath}
	for _, ext := range []string{"parquet", "arrow", "arrows"} {
		p := filepath.Join(dir, "in."+ext)
		convert(t, csvPath, p, Options{BatchSize: 2500})
		paths = append(paths, p)
	}
	for _, p := range paths {
		t.Run(filepath.Ext(p), func(t *testing.T) {
			r, err := Open(p, Options{BatchSize: 1000, InferRows: 100})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			src := r.src
			if p, ok := src.(*pipe); ok {
				src = p.src // not started: safe to look at
			}
			switch s := src.(type) {
			case *delimited:
				if s.row != 100 {
					t.Errorf("inference scanned %d rows, want 100", s.row)
				}
			case *jsonl:
				if s.line != 100 {
					t.Errorf("inference read %d lines, want 100", s.line)
				}
			}
			var sizes []int64
			for {
				rec, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, rec.NumRows())
				rec.Release()
			}
			if want := []int64{1000, 1000, 500}; !reflect.DeepEqual(sizes, want) {
				t.Errorf("batch sizes %v, want %v", sizes, want)
			}
			if r.RowsRead() != 2500 {
				t.Errorf("RowsRead %d, want 2500", r.RowsRead())
			}
			if _, err := r.Next(); !errors.Is(err, io.EOF) {
				t.Errorf("Next after the end: %v, want io.EOF", err)
			}
		})
	}
	// closing in the middle stops the read-ahead cleanly
	r, err := Open(csvPath, Options{BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := r.Next(); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v, want ErrClosed", err)
	}
}

// TestBytesRead: a reader's byte count reaches the file size by the end, for
// driving a progress bar.
func TestBytesRead(t *testing.T) {
	for _, name := range []string{"tricky.csv", "tricky.jsonl"} {
		p := filepath.Join("testdata", name)
		r, err := Open(p, Options{BatchSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(p)
		if r.Size() != st.Size() {
			t.Errorf("%s: Size %d, want %d", name, r.Size(), st.Size())
		}
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			rec.Release()
		}
		if r.BytesRead() != st.Size() {
			t.Errorf("%s: BytesRead %d at the end, want %d", name, r.BytesRead(), st.Size())
		}
		r.Close()
	}
}

// TestJSONLLongLine: a line longer than the read buffer, then a short one.
func TestJSONLLongLine(t *testing.T) {
	long := strings.Repeat("ab\\\"c", 700_000) // 3.5 MB of JSON text
	p := writeFile(t, "l.jsonl", `{"s":"`+long+`","n":1}`+"\n"+`{"s":"x","n":2}`)
	_, rows := table(t, p, Options{})
	want := strings.ReplaceAll(long, `\"`, `"`)
	if len(rows) != 2 || rows[0][0] != want || rows[0][1] != "1" || rows[1][0] != "x" || rows[1][1] != "2" {
		t.Errorf("got %d rows; first value %d bytes, want %d", len(rows), len(rows[0][0]), len(want))
	}
}

// TestColumns: Options.Columns selects and orders columns in every format;
// values of unselected CSV columns are never looked at (not even for UTF-8).
func TestColumns(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "c.csv")
	os.WriteFile(csvPath, []byte("id,junk,text,n\n1,caf\xe9,\"a,b\",5\n2,xy,c,x6\n"), 0o644)
	opt := Options{Columns: []string{"text", "id"}}
	types, rows := table(t, csvPath, opt)
	if want := []string{"text:utf8", "id:int64"}; !reflect.DeepEqual(types, want) {
		t.Errorf("types %v, want %v", types, want)
	}
	if want := [][]string{{"a,b", "1"}, {"c", "2"}}; !reflect.DeepEqual(rows, want) {
		t.Errorf("rows %q, want %q", rows, want)
	}
	// a selected column still reports its errors with its own name
	err := readErr(csvPath, Options{Columns: []string{"n"}, InferRows: 1})
	if want := csvPath + `: row 2, column "n": "x6" is not an integer (the column's type, int64, was inferred from the first 1 rows; override it, e.g. --type n=string)`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if err := readErr(csvPath, Options{Columns: []string{"id", "nope"}}); err == nil || err.Error() != csvPath+`: column "nope": the file has no such column (it has id, junk, text, n)` {
		t.Errorf("missing column: %v", err)
	}
	// the other formats, made from a clean copy
	clean := filepath.Join(dir, "clean.csv")
	os.WriteFile(clean, []byte("id,junk,text\n1,j,\"a,b\"\n2,k,c\n"), 0o644)
	for _, ext := range []string{"jsonl", "parquet", "arrow", "tsv"} {
		p := filepath.Join(dir, "c."+ext)
		convert(t, clean, p, Options{})
		types, rows := table(t, p, opt)
		if want := []string{"text:utf8", "id:int64"}; !reflect.DeepEqual(types, want) {
			t.Errorf("%s: types %v, want %v", ext, types, want)
		}
		if want := [][]string{{"a,b", "1"}, {"c", "2"}}; !reflect.DeepEqual(rows, want) {
			t.Errorf("%s: rows %q, want %q", ext, rows, want)
		}
		if ext == "parquet" { // only the selected columns are decoded
			r, err := Open(p, opt)
			if err != nil {
				t.Fatal(err)
			}
			if n := r.src.(*projection).source.(*parquetSource).sch.NumFields(); n != 2 {
				t.Errorf("parquet reads %d columns, want 2", n)
			}
			r.Close()
		}
	}
}

// TestGzip: compressed text files read exactly like the plain ones.
func TestGzip(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"tricky.csv", "tricky.jsonl"} {
		plain := filepath.Join("testdata", name)
		b, _ := os.ReadFile(plain)
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write(b)
		zw.Close()
		gz := filepath.Join(dir, name+".gz")
		os.WriteFile(gz, zb.Bytes(), 0o644)
		wantTypes, wantRows := table(t, plain, Options{})
		types, rows := table(t, gz, Options{BatchSize: 2})
		if !reflect.DeepEqual(types, wantTypes) || !reflect.DeepEqual(rows, wantRows) {
			t.Errorf("%s.gz reads differently from %s", name, name)
		}
	}
	bad := filepath.Join(dir, "bad.csv.gz")
	os.WriteFile(bad, []byte("a,b\n1,2\n3,4\n5,6\n"), 0o644)
	if err := readErr(bad, Options{}); err == nil || err.Error() != bad+": not a readable gzip file: gzip: invalid header" {
		t.Errorf("plain text named .gz: %v", err)
	}
	pq := filepath.Join(dir, "x.parquet.gz")
	os.WriteFile(pq, nil, 0o644)
	if err := readErr(pq, Options{}); err == nil || !strings.Contains(err.Error(), "only CSV, TSV and JSON Lines can be read gzip-compressed") {
		t.Errorf("parquet.gz: %v", err)
	}
	if _, err := Create(filepath.Join(dir, "out.csv.gz"), arrow.NewSchema(nil, nil), WriteOptions{}); err == nil {
		t.Error("Create .csv.gz succeeded")
	}
}

// TestNewReader reads streams: CSV and JSON Lines told apart by their first
// byte, a format from the name, an Arrow IPC stream; Parquet is refused.
func TestNewReader(t *testing.T) {
	read := func(r *Reader) [][]string {
		t.Helper()
		defer r.Close()
		var rows [][]string
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				return rows
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < int(rec.NumRows()); i++ {
				var row []string
				for c := 0; c < int(rec.NumCols()); c++ {
					row = append(row, FormatValue(rec.Column(c), i))
				}
				rows = append(rows, row)
			}
			rec.Release()
		}
	}
	want := [][]string{{"1", "x"}, {"2", "y"}}
	for name, in := range map[string]string{
		"-":           "a,b\n1,x\n2,y\n",
		"stdin":       "\n {\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":\"y\"}\n",
		"input.tsv":   "a\tb\n1\tx\n2\ty\n",
		"input.jsonl": "{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":\"y\"}\n",
	} {
		r, err := NewReader(strings.NewReader(in), name, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := read(r); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	// an Arrow IPC stream, with a column selection
	p := filepath.Join(t.TempDir(), "s.arrows")
	src := writeFile(t, "s.csv", "a,b\n1,x\n2,y\n")
	convert(t, src, p, Options{})
	b, _ := os.ReadFile(p)
	r, err := NewReader(bytes.NewReader(b), "stdin", Options{Format: Arrow, Columns: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(r); !reflect.DeepEqual(got, [][]string{{"x"}, {"y"}}) {
		t.Errorf("arrow stream: %q", got)
	}
	if _, err := NewReader(strings.NewReader(""), "x.parquet", Options{}); err == nil || err.Error() != "data: x.parquet: parquet needs random access; save it to a file and use Open" {
		t.Errorf("parquet stream: %v", err)
	}
	// errors name the stream
	r, err = NewReader(strings.NewReader("a,b\n1,\"x\n"), "stdin", Options{})
	if err == nil {
		_, err = r.Next()
	}
	if err == nil || err.Error() != `stdin: row 1, column "b": malformed CSV at line 2: unterminated quoted field: the closing quote is missing` {
		t.Errorf("bad stream: %v", err)
	}
}
