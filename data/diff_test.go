package data

import (
	"bytes"
	"encoding/csv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestCSVAgainstEncodingCSV generates random files of awkward records —
// quotes, doubled quotes, separators and line breaks inside quoted fields,
// CRLF line ends, multi-byte characters, a field larger than the read
// buffer — and checks every cell against encoding/csv. Records cross the
// scanner's buffer boundaries many times over.
func TestCSVAgainstEncodingCSV(t *testing.T) {
	pieces := []string{"a", "bc", "déf", "✓", "😀", " ", ",", "\"", "\n", "\r\n", "x\ry", "1", "-2.5", "true", "\t"}
	rows := 20000
	if testing.Short() {
		rows = 3000
	}
	for seed := uint64(1); seed <= 3; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		var sb strings.Builder
		cols := 1 + rng.IntN(5)
		for c := range cols {
			if c > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("c" + string(rune('a'+c)))
		}
		crlf := seed == 2
		eol := "\n"
		if crlf {
			eol = "\r\n"
		}
		sb.WriteString(eol)
		for r := range rows {
			for c := range cols {
				if c > 0 {
					sb.WriteByte(',')
				}
				var f strings.Builder
				n := rng.IntN(12)
				if r == rows/2 && c == 0 {
					n = 2_500_000 // one field of several MB: bigger than the whole read buffer
				}
				for range n {
					f.WriteString(pieces[rng.IntN(len(pieces))])
				}
				v := f.String()
				if strings.ContainsAny(v, ",\"\r\n") || v == "" || rng.IntN(4) == 0 {
					v = "\"" + strings.ReplaceAll(v, "\"", "\"\"") + "\""
				}
				sb.WriteString(v)
			}
			if r < rows-1 || rng.IntN(2) == 0 {
				sb.WriteString(eol)
			}
		}
		content := sb.String()
		want, err := csv.NewReader(strings.NewReader(content)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "r.csv")
		os.WriteFile(p, []byte(content), 0o644)
		str := map[string]arrow.DataType{}
		for _, h := range want[0] {
			str[h] = arrow.BinaryTypes.String
		}
		_, got := table(t, p, Options{Types: str, BatchSize: 777})
		if len(got) != len(want)-1 {
			t.Fatalf("seed %d: %d rows, encoding/csv has %d", seed, len(got), len(want)-1)
		}
		for i, row := range got {
			for j, v := range row {
				// encoding/csv turns a quoted \r\n into \n; dawn keeps the bytes
				if w := want[i+1][j]; strings.ReplaceAll(v, "\r\n", "\n") != w {
					t.Fatalf("seed %d row %d col %d: %q, encoding/csv: %q", seed, i+1, j, trunc(v), trunc(w))
				}
			}
		}
		// and the CSV writer's output reads back to the same cells
		out := filepath.Join(t.TempDir(), "w.csv")
		convert(t, p, out, Options{Types: str})
		_, again := table(t, out, Options{Types: str})
		for i := range got {
			if !equalRows(got[i], again[i]) {
				t.Fatalf("seed %d row %d changed through the writer", seed, i+1)
			}
		}
		b, _ := os.ReadFile(out)
		if !bytes.HasPrefix(b, []byte("ca")) {
			t.Fatalf("writer output starts %q", b[:10])
		}
	}
}

func equalRows(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
