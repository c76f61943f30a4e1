package mbsql

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func runSQL(t *testing.T, dir, src string) []byte {
	t.Helper()
	s := NewSession(dir)
	var last *Result
	if err := s.Exec(src, func(r *Result) error { last = r; return nil }); err != nil {
		t.Fatalf("%s\n%v", src, err)
	}
	if last == nil || last.Frame == nil {
		t.Fatalf("no query result")
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, last.Frame, ','); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func lines(b []byte) []string {
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// sameRows compares header and rows exactly, or as sets when unordered.
func sameRows(t *testing.T, got []byte, wantFile string, ordered bool) {
	t.Helper()
	want, err := os.ReadFile(wantFile)
	if err != nil {
		t.Fatal(err)
	}
	g, w := lines(got), lines(want)
	if g[0] != w[0] {
		t.Fatalf("header %q, want %q", g[0], w[0])
	}
	if !ordered {
		slices.Sort(g[1:])
		slices.Sort(w[1:])
	}
	if !slices.Equal(g, w) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
}

const importSample = "IMPORT FROM CSV FILE 'sql_diff/sample.csv' INTO sample(usage double, latency double, location string, version string);\n"

// MacroBaseSQLTest query1-12 (DIFF) and 13-20 (percentile()).
func TestMacroBaseSQL(t *testing.T) {
	dir := filepath.Join(dataDir(t), "macrobase")
	diff := func(body string) string {
		return "SELECT * FROM DIFF (SPLIT sample WHERE usage > 1000.0) " + body
	}
	cases := []struct {
		n       int
		query   string
		ordered bool
	}{
		{1, "SELECT * FROM DIFF (SELECT * FROM sample WHERE usage > 1000.0) outliers, (SELECT * FROM sample WHERE usage < 1000.0) inliers ON location, version", false},
		{2, diff("ON location, version"), false},
		{3, diff("ON *"), false},
		{4, diff("ON location, version WITH MIN RATIO 10.0 MIN SUPPORT 0.05"), false},
		{5, diff("ON location, version MAX COMBO 1"), false},
		{6, diff("ON location, version COMPARE BY risk_ratio(COUNT(*))"), false},
		{7, diff("ON location, version WITH MIN SUPPORT 0.05 MIN RATIO 10.0 MAX COMBO 1"), false},
		{8, diff("ON location, version WITH MIN SUPPORT 0.05 MIN RATIO 10.0 COMPARE BY risk_ratio(COUNT(*))"), false},
		{9, diff("ON location, version COMPARE BY risk_ratio(COUNT(*)) MAX COMBO 1"), false},
		{10, diff("ON location, version WITH MIN SUPPORT 0.05 MIN RATIO 10.0 COMPARE BY risk_ratio(COUNT(*)) MAX COMBO 1"), false},
		{11, diff("ON location, version COMPARE BY risk_ratio(COUNT(*)) ORDER BY support"), true},
		{12, diff("ON location, version COMPARE BY risk_ratio(COUNT(*)) ORDER BY support LIMIT 1"), true},
		{13, "SELECT percentile(usage) FROM sample", true},
		{14, "SELECT percentile(usage) AS pct FROM sample", true},
		{15, "SELECT usage, percentile(usage) AS pct FROM sample", true},
		{16, "SELECT *, percentile(usage) as pct FROM sample", true},
		{17, "SELECT percentile(usage) as pct FROM sample WHERE pct > 0.95", true},
		{18, "SELECT *, percentile(usage) as pct FROM sample WHERE pct > 0.95", true},
		{19, "SELECT usage, percentile(usage) as pct FROM sample WHERE pct > 0.95", true},
		{20, "SELECT usage FROM sample WHERE percentile(usage) > 0.95", true},
	}
	for _, tc := range cases {
		t.Run(strings.TrimSpace(strings.Fields(tc.query)[1])+"_"+itoa(tc.n), func(t *testing.T) {
			got := runSQL(t, dir, importSample+tc.query+";")
			sub := "sql_diff"
			if tc.n > 12 {
				sub = "sql_percentile"
			}
			sameRows(t, got, filepath.Join(dir, sub, "expected_"+itoa(tc.n)+".csv"), tc.ordered)
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// MacroBaseSQLDiffJoinTest 1-11: DIFF of (R NATURAL JOIN T) against
// (S NATURAL JOIN T), pushed below the join, and the same DIFF over the
// materialised join (no pushdown) must agree.
func TestMacroBaseSQLDiffJoin(t *testing.T) {
	dir := filepath.Join(dataDir(t), "macrobase", "sql_diff_joins")
	schemas := map[int][2]string{}
	for n := 1; n <= 11; n++ {
		switch {
		case n <= 4:
			schemas[n] = [2]string{"A1 string", "A1 string, state string"}
		case n <= 8:
			schemas[n] = [2]string{"A1 string", "A1 string, state string, app string"}
		case n <= 10:
			schemas[n] = [2]string{"A0 string", "A0 string, A1 string, A2 string, A3 string, A4 string"}
		default:
			schemas[n] = [2]string{"A0 string", "A0 string, A1 string, A2 string, A3 string"}
		}
	}
	tail := map[int]string{
		1: "ON state", 2: "ON state", 3: "ON state", 4: "ON state",
		5: "ON app, state", 6: "ON app, state WITH MIN SUPPORT 0.01 ORDER BY app", 7: "ON app, state WITH MIN SUPPORT 0.01 ORDER BY app", 8: "ON app, state",
		9: "ON A1, A2, A3, A4 WITH MIN SUPPORT 0.01 ORDER BY A1", 10: "ON A1, A2, A3, A4",
		11: "ON A1, A2, A3 WITH MIN SUPPORT 0.01 MIN RATIO 1.5 ORDER BY global_ratio DESC",
	}
	for n := 1; n <= 11; n++ {
		on := tail[n]
		if !strings.Contains(on, "WITH") {
			on = strings.Replace(on, "ON", "ON", 1) + " WITH MIN SUPPORT 0.01"
		}
		ordered := strings.Contains(on, "ORDER BY")
		imports := "IMPORT FROM CSV FILE 'R" + itoa(n) + ".csv' INTO R(" + schemas[n][0] + ");\n" +
			"IMPORT FROM CSV FILE 'S" + itoa(n) + ".csv' INTO S(" + schemas[n][0] + ");\n" +
			"IMPORT FROM CSV FILE 'T" + itoa(n) + ".csv' INTO T(" + schemas[n][1] + ");\n"
		for _, form := range []struct{ name, from string }{
			{"pushdown", "(SELECT * FROM R NATURAL JOIN T), (SELECT * FROM S NATURAL JOIN T)"},
			{"materialised", "(SELECT * FROM R NATURAL JOIN T WHERE 1 = 1), (SELECT * FROM S NATURAL JOIN T WHERE 1 = 1)"},
		} {
			t.Run(itoa(n)+"_"+form.name, func(t *testing.T) {
				q := imports + "SELECT * FROM DIFF " + form.from + " " + on + ";"
				got := runSQL(t, dir, strings.ReplaceAll(q, "'R0", "'R"))
				want := filepath.Join(dir, "expected_"+strings.TrimLeft(itoa(n), "0")+".csv")
				if n == 9 {
					// ORDER BY A1 with ties in hash order: the A1 column
					// must match in order, the rows as a set.
					wb, _ := os.ReadFile(want)
					col := func(b []byte) []string {
						var out []string
						for _, l := range lines(b) {
							out = append(out, strings.Split(l, ",")[0])
						}
						return out
					}
					if !slices.Equal(col(got), col(wb)) {
						t.Fatalf("A1 order %v, want %v", col(got), col(wb))
					}
					ordered = false
				}
				sameRows(t, got, want, ordered)
			})
		}
	}
}

func TestNormalize(t *testing.T) {
	dir := filepath.Join(dataDir(t), "macrobase")
	got := lines(runSQL(t, dir, importSample+"SELECT usage, normalize(usage) AS n FROM sample;"))
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, l := range got[1:] {
		u, _ := strconv.ParseFloat(strings.Split(l, ",")[0], 64)
		lo, hi = math.Min(lo, u), math.Max(hi, u)
	}
	shift := 0.0
	if lo <= 0 {
		shift = -lo
	}
	for _, l := range got[1:] {
		parts := strings.Split(l, ",")
		u, _ := strconv.ParseFloat(parts[0], 64)
		n, _ := strconv.ParseFloat(parts[1], 64)
		if n != (u+shift)/(hi+shift) {
			t.Fatalf("normalize(%v) = %v, want %v", u, n, (u+shift)/(hi+shift))
		}
	}
}
