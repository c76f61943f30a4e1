package mbsql

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/explain"
)

func TestParseErrorsPointAtLineAndColumn(t *testing.T) {
	for _, tc := range []struct {
		src, want string
	}{
		{"SELECT * FROM", "1:14: expected table name, found end of input"},
		{"SELECT *\nFROM t\nWHERE x >", "3:10: expected an expression"},
		{"SELECT * FROM DIFF (SPLIT t WHERE a > 1)\n  ON", "2:5: expected column name"},
		{"SELECT * FROM DIFF (SPLIT t WHERE a > 1) ON a WITH MIN SUPPORT 2", "1:64: MIN SUPPORT 2: want a fraction"},
		{"SELECT * FROM DIFF (SPLIT t WHERE a > 1) ON a COMPARE BY odds_ratio(COUNT(*))", "1:58: unknown ratio metric"},
		{"SELECT * FROM DIFF (SPLIT t WHERE a > 1) ON a MAX COMBO 4", "1:57: MAX COMBO 4"},
		{"IMPORT FROM CSV FILE 'x.csv' INTO t(a blob)", "1:39: unknown column type"},
		{"SELECT 'abc", "1:8: unterminated string"},
		{"SELECT a FROM t LIMIT 1.5", "1:23: LIMIT 1.5"},
		{"SELECT a FROM t; DROP TABLE t", "1:18: expected IMPORT or SELECT"},
		{"SELECT a ? b", "1:10: unexpected character"},
	} {
		_, err := Parse(tc.src)
		var pe *Error
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", tc.src, err, tc.want)
		}
	}
}

func TestParseForms(t *testing.T) {
	src := `-- comment
IMPORT FROM CSV FILE 'a.csv' INTO t(x double, "loc" string);
SELECT * FROM DIFF (SELECT * FROM t WHERE x > 1) o, (SELECT * FROM t WHERE NOT x > 1) i
  ON loc WITH MIN SUPPORT 0.3 MIN RATIO 2 COMPARE BY prevalence_ratio(COUNT(*)) MAX COMBO 2
  WHERE support > 0.5 ORDER BY support DESC NULLS LAST LIMIT 3 INTO OUTFILE 'o.csv' FIELDS TERMINATED BY ';';
SELECT x INTO OUTFILE 'y.csv' FROM t WHERE loc IS NOT NULL AND (x + 1) * 2 >= -3;`
	st, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 3 {
		t.Fatalf("%d statements", len(st))
	}
	q := st[1].(*Query)
	d := q.From.(*Diff)
	if *d.MinSupport != 0.3 || *d.MinRatio != 2 || d.Metric != "prevalence_ratio" || d.MaxCombo != 2 || d.On[0] != "loc" {
		t.Errorf("diff %+v", d)
	}
	if q.Limit != 3 || q.Outfile != "o.csv" || q.Delim != ";" || !q.OrderBy[0].Desc {
		t.Errorf("query %+v", q)
	}
	if q2 := st[2].(*Query); q2.Outfile != "y.csv" || q2.Where == nil {
		t.Errorf("export before FROM: %+v", q2)
	}
}

func TestSQLBadInput(t *testing.T) {
	dir := t.TempDir()
	csv := "m,loc,ver\n1,a,x\n2,a,y\n1000,b,x\n,b,\nNaN,a,x\n"
	if err := os.WriteFile(filepath.Join(dir, "d.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	imp := "IMPORT FROM CSV FILE 'd.csv' INTO d(m double, loc string, ver string);\n"
	s := NewSession(dir)
	for _, tc := range []struct{ q, want string }{
		{"SELECT nope FROM d", `unknown column "nope"`},
		{"SELECT * FROM e", `unknown table "e"`},
		{"SELECT * FROM d WHERE loc > 3", "types differ"},
		{"SELECT percentile(loc) FROM d", "needs a numeric column"},
		{"SELECT * FROM DIFF (SPLIT d WHERE m > 10) ON nope", "DIFF ON nope"},
		{"SELECT * FROM DIFF (SPLIT d WHERE m) ON loc", "boolean"},
		{"IMPORT FROM CSV FILE 'd.csv' INTO z(loc double)", "is not a number"},
		{"IMPORT FROM CSV FILE 'd.csv' INTO z(q double)", `declared column "q"`},
		{"IMPORT FROM CSV FILE 'missing.csv' INTO z(q double)", "missing.csv"},
	} {
		err := s.Exec(imp+tc.q, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.q, err, tc.want)
		}
	}
	// NaN and empty cells never match a comparison and never explain (the
	// NaN row is an inlier; the empty ver cell is no value); an empty
	// outlier set gives no rows.
	var got *explain.Frame
	if err := s.Exec(imp+"SELECT * FROM DIFF (SPLIT d WHERE m > 10) ON loc, ver WITH MIN SUPPORT 0.1 MIN RATIO 1", func(r *Result) error { got = r.Frame; return nil }); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	WriteTable(&b, got, 0)
	if want := "b     null        1           2.5              1            2\nnull  x           1         1.667              1            3\n"; !strings.Contains(b.String(), want) {
		t.Fatalf("got\n%s", b.String())
	}
	if err := s.Exec(imp+"SELECT * FROM DIFF (SPLIT d WHERE m > 1e9) ON loc", func(r *Result) error { got = r.Frame; return nil }); err != nil || got.Rows != 0 {
		t.Fatalf("empty outlier set: %v rows, %v", got.Rows, err)
	}
}

func TestJavaDouble(t *testing.T) {
	for v, want := range map[float64]string{
		38: "38.0", 1: "1.0", 0.7894736842105263: "0.7894736842105263", 4.1128404669260705: "4.1128404669260705",
		1e7: "1.0E7", 1.5e-4: "1.5E-4", 0.001: "0.001", 123456.5: "123456.5", -2.5: "-2.5", 0: "0.0", 12345678: "1.2345678E7",
	} {
		if got := JavaDouble(v); got != want {
			t.Errorf("JavaDouble(%v) = %s, want %s", v, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM DIFF (SPLIT t WHERE usage > 1000.0) ON location, version WITH MIN SUPPORT 0.05 MIN RATIO 10.0",
		"SELECT * FROM DIFF (SELECT * FROM R NATURAL JOIN T), (SELECT * FROM S NATURAL JOIN T) ON state ORDER BY app LIMIT 1",
		"IMPORT FROM CSV FILE 'a.csv' INTO t(a double, b string);",
		"SELECT *, percentile(usage) as pct FROM sample WHERE pct > 0.95 INTO OUTFILE 'x' FIELDS TERMINATED BY ','",
		"SELECT a FROM t JOIN u ON t.k = u.k AND t.j = u.j WHERE NOT (a IS NULL OR b <> 'x')",
		"/* c */ SELECT -1.5e3 + 2 * (3 - 4) / 5 % 6 FROM t",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		st, err := Parse(src)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Pos.Line < 1 || pe.Pos.Col < 1 {
				t.Fatalf("error without a position: %v", err)
			}
			return
		}
		// Whatever parses must run without panicking on an empty session.
		s := NewSession(t.TempDir())
		for _, x := range st {
			if _, ok := x.(*Import); ok {
				continue
			}
			s.Run(x)
		}
	})
}
