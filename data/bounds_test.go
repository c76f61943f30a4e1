package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestCSVScannerLinearOnShortReads is the repro of the quadratic scanner:
// a long record read one byte at a time was re-scanned after every byte
// (a 100 MB line took 153 s gzipped against 5.8 s plain). The buffer is now
// refilled whole, so a record costs a refill per doubling of the buffer.
func TestCSVScannerLinearOnShortReads(t *testing.T) {
	const n = 4 << 20
	long := strings.Repeat("x", n)
	for _, tc := range []struct{ name, in, want string }{
		{"unquoted", "a,b\n1," + long + "\n", long},
		{"quoted with newlines", "a,b\n1,\"" + strings.Repeat("x\n", n/2) + "\"\n", strings.Repeat("x\n", n/2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newCSVScanner(iotest.OneByteReader(strings.NewReader(tc.in)), ',', false)
			var got [][]string
			for {
				ok, serr, err := s.record()
				if err != nil || serr != nil {
					t.Fatalf("record: %v %+v", err, serr)
				}
				if !ok {
					break
				}
				var rec []string
				var scratch []byte
				for _, f := range s.fields {
					rec = append(rec, string(s.value(f, &scratch)))
				}
				got = append(got, rec)
			}
			if len(got) != 2 || len(got[1]) != 2 || got[1][1] != tc.want {
				t.Fatalf("got %d records", len(got))
			}
			// 64 KiB doubling to 8 MiB is 8 refills; allow slack, far from n.
			if s.fills > 32 {
				t.Errorf("%d refills for a %d-byte record read a byte at a time", s.fills, n)
			}
		})
	}
}

// TestCSVGzipLongLine reads a long line from a .csv.gz file, whose
// decompressed reads are short (the repro's 100 MB gzipped line).
func TestCSVGzipLongLine(t *testing.T) {
	n := 16 << 20
	if testing.Short() {
		n = 1 << 20
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	fmt.Fprintf(zw, "a,b\n1,%s\n2,y\n", strings.Repeat("z", n))
	zw.Close()
	_, rows := table(t, writeFile(t, "long.csv.gz", zb.String()), Options{})
	if len(rows) != 2 || len(rows[0][1]) != n || rows[1][1] != "y" {
		t.Fatalf("%d rows, want 2 with a %d-byte value first", len(rows), n)
	}
}

// TestJSONLManyKeys is the repro of schema inference quadratic in the
// keys (30,000 keys took 30 s): every key is typed from its own values.
func TestJSONLManyKeys(t *testing.T) {
	keys := 30_000
	if testing.Short() {
		keys = 3_000
	}
	var in strings.Builder
	for row := range 2 {
		in.WriteString("{")
		for k := range keys {
			if k > 0 {
				in.WriteString(",")
			}
			switch k % 3 {
			case 0:
				fmt.Fprintf(&in, `"k%d":%d`, k, row)
			case 1:
				fmt.Fprintf(&in, `"k%d":%d.5`, k, row)
			default:
				fmt.Fprintf(&in, `"k%d":"s%d"`, k, row)
			}
		}
		in.WriteString("}\n")
	}
	r, err := NewReader(strings.NewReader(in.String()), "in.jsonl", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sch := r.Schema()
	if sch.NumFields() != keys {
		t.Fatalf("%d fields, want %d", sch.NumFields(), keys)
	}
	want := []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, arrow.BinaryTypes.String}
	for i, f := range sch.Fields() {
		if f.Name != fmt.Sprintf("k%d", i) || !arrow.TypeEqual(f.Type, want[i%3]) {
			t.Fatalf("field %d: %s %s, want k%d %s", i, f.Name, f.Type, i, want[i%3])
		}
	}
}

// TestErrorQuotesBounded is the repro of an error that echoed a whole
// header line: details past MaxErrorDetail keep their start and end, and
// a column name is quoted to 40 bytes.
func TestErrorQuotesBounded(t *testing.T) {
	huge := strings.Repeat("h", 8<<20)
	in := huge + ",b\n1,2\n"
	_, err := NewReader(strings.NewReader(in), "in.csv", Options{Columns: []string{"missing" + huge}})
	if err == nil {
		t.Fatal("selecting a missing column succeeded")
	}
	msg := err.Error()
	if len(msg) > MaxErrorDetail+200 {
		t.Errorf("error is %d bytes long", len(msg))
	}
	if !strings.Contains(msg, "has no such column") || !strings.Contains(msg, "bytes left out") || !strings.HasSuffix(msg, ", b)") {
		t.Errorf("error lost its sense: %.300s ... %.100s", msg, msg[max(0, len(msg)-100):])
	}
	if short := (&Error{File: "f", Err: errors.New("short detail")}).Error(); short != "f: short detail" {
		t.Errorf("short detail changed: %q", short)
	}
}
