package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// MacroBaseSQLTest 1-20 through `dawn sql -f`, each writing INTO OUTFILE.
func TestSQLCLIReproducesMacroBase(t *testing.T) {
	mb := macrobaseDir(t)
	dir := t.TempDir()
	split := "SELECT * FROM DIFF (SPLIT sample WHERE usage > 1000.0) "
	queries := []string{
		"", // 1-based
		"SELECT * FROM DIFF (SELECT * FROM sample WHERE usage > 1000.0) outliers, (SELECT * FROM sample WHERE usage < 1000.0) inliers ON location, version",
		split + "ON location, version",
		split + "ON *",
		split + "ON location, version WITH MIN RATIO 10.0 MIN SUPPORT 0.05",
		split + "ON location, version MAX COMBO 1",
		split + "ON location, version COMPARE BY risk_ratio(COUNT(*))",
		split + "ON location, version WITH MIN SUPPORT 0.05 MIN RATIO 10.0 MAX COMBO 1",
		split + "ON location, version WITH MIN SUPPORT 0.05 MIN RATIO 10.0 COMPARE BY risk_ratio(COUNT(*))",
		split + "ON location, version COMPARE BY risk_ratio(COUNT(*)) MAX COMBO 1",
		split + "ON location, version WITH MIN SUPPORT 0.05 MIN RATIO 10.0 COMPARE BY risk_ratio(COUNT(*)) MAX COMBO 1",
		split + "ON location, version COMPARE BY risk_ratio(COUNT(*)) ORDER BY support",
		split + "ON location, version COMPARE BY risk_ratio(COUNT(*)) ORDER BY support LIMIT 1",
		"SELECT percentile(usage) FROM sample",
		"SELECT percentile(usage) AS pct FROM sample",
		"SELECT usage, percentile(usage) AS pct FROM sample",
		"SELECT *, percentile(usage) as pct FROM sample",
		"SELECT percentile(usage) as pct FROM sample WHERE pct > 0.95",
		"SELECT *, percentile(usage) as pct FROM sample WHERE pct > 0.95",
		"SELECT usage, percentile(usage) as pct FROM sample WHERE pct > 0.95",
		"SELECT usage FROM sample WHERE percentile(usage) > 0.95",
	}
	var b strings.Builder
	b.WriteString("IMPORT FROM CSV FILE '" + filepath.Join(mb, "sql_diff", "sample.csv") + "' INTO sample(usage double, latency double, location string, version string);\n")
	for n := 1; n <= 20; n++ {
		b.WriteString(queries[n] + " INTO OUTFILE '" + strconv.Itoa(n) + ".csv';\n")
	}
	f := filepath.Join(dir, "all.sql")
	os.WriteFile(f, []byte(b.String()), 0o644)
	code, out, stderr := runCLI(t, "", "sql", "-f", f, "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "imported 1057 rows into sample") {
		t.Errorf("stdout: %s", out)
	}
	for n := 1; n <= 20; n++ {
		sub, ordered := "sql_diff", n >= 11
		if n > 12 {
			sub = "sql_percentile"
		}
		got := csvLines(t, filepath.Join(dir, strconv.Itoa(n)+".csv"), !ordered)
		want := csvLines(t, filepath.Join(mb, sub, "expected_"+strconv.Itoa(n)+".csv"), !ordered)
		if !slices.Equal(got, want) {
			t.Errorf("query %d: got %d lines, want %d; first difference in\n%q\n%q", n, len(got), len(want), got[:min(3, len(got))], want[:min(3, len(want))])
		}
	}
}

// MacroBaseSQLDiffJoinTest 1-11 through `dawn sql -e --json`.
func TestSQLCLIDiffJoins(t *testing.T) {
	mb := filepath.Join(macrobaseDir(t), "sql_diff_joins")
	on := map[int]string{
		1: "ON state", 2: "ON state", 3: "ON state", 4: "ON state", 5: "ON app, state", 6: "ON app, state", 7: "ON app, state", 8: "ON app, state",
		9: "ON A1, A2, A3, A4", 10: "ON A1, A2, A3, A4", 11: "ON A1, A2, A3",
	}
	for n := 1; n <= 11; n++ {
		key, tcols := "A1", "A1 string, state string"
		switch {
		case n >= 5 && n <= 8:
			tcols = "A1 string, state string, app string"
		case n == 9 || n == 10:
			key, tcols = "A0", "A0 string, A1 string, A2 string, A3 string, A4 string"
		case n == 11:
			key, tcols = "A0", "A0 string, A1 string, A2 string, A3 string"
		}
		ns := strconv.Itoa(n)
		q := "IMPORT FROM CSV FILE 'R" + ns + ".csv' INTO R(" + key + " string);" +
			"IMPORT FROM CSV FILE 'S" + ns + ".csv' INTO S(" + key + " string);" +
			"IMPORT FROM CSV FILE 'T" + ns + ".csv' INTO T(" + tcols + ");" +
			"SELECT * FROM DIFF (SELECT * FROM R NATURAL JOIN T), (SELECT * FROM S NATURAL JOIN T) " + on[n] + " WITH MIN SUPPORT 0.01;"
		code, out, stderr := runCLI(t, "", "sql", "--dir", mb, "--json", "-e", q)
		if code != 0 {
			t.Fatalf("%d: exit %d: %s", n, code, stderr)
		}
		var res struct {
			Results []struct {
				Columns []string `json:"columns"`
				Rows    [][]any  `json:"rows"`
			} `json:"results"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		last := res.Results[len(res.Results)-1]
		var got []string
		for _, r := range last.Rows {
			var cells []string
			for _, c := range r {
				switch v := c.(type) {
				case nil:
					cells = append(cells, "")
				case string:
					cells = append(cells, v)
				case float64:
					cells = append(cells, strconv.FormatFloat(v, 'g', -1, 64))
				}
			}
			got = append(got, strings.Join(cells, ","))
		}
		want := csvLines(t, filepath.Join(mb, "expected_"+ns+".csv"), false)
		if strings.Join(last.Columns, ",") != want[0] {
			t.Fatalf("%d: columns %v, want %s", n, last.Columns, want[0])
		}
		var wantRows []string
		for _, l := range want[1:] {
			cells := strings.Split(l, ",")
			for i, c := range cells {
				if v, err := strconv.ParseFloat(c, 64); err == nil && strings.Contains(c, ".") {
					cells[i] = strconv.FormatFloat(v, 'g', -1, 64)
				}
			}
			wantRows = append(wantRows, strings.Join(cells, ","))
		}
		slices.Sort(got)
		slices.Sort(wantRows)
		if !slices.Equal(got, wantRows) {
			t.Errorf("%d: got %q, want %q", n, got, wantRows)
		}
	}
}

func TestSQLCLIErrorsAndREPL(t *testing.T) {
	code, _, stderr := runCLI(t, "", "sql", "-e", "SELECT *\nFROM DIFF (SPLIT t WHERE x >) ON a")
	if code != 1 || !strings.Contains(stderr, "2:29: expected an expression") {
		t.Errorf("exit %d, %q", code, stderr)
	}
	code, _, stderr = runCLI(t, "", "sql", "-e", "x", "-f", "y")
	if code != 2 {
		t.Errorf("both -e and -f: exit %d %s", code, stderr)
	}
	mb := macrobaseDir(t)
	in := "IMPORT FROM CSV FILE '" + filepath.Join(mb, "sql_diff", "sample.csv") + "'\n INTO s(usage double, latency double, location string, version string);\n" +
		"SELECT * FROM nope;\nSELECT * FROM DIFF (SPLIT s WHERE usage > 1000) ON location\n  WITH MIN SUPPORT 0.5;\n"
	code, out, stderr := runCLI(t, in, "sql")
	if code != 1 || !strings.Contains(stderr, `3:15: unknown table "nope"`) || !strings.Contains(out, "CAN             1         4.113") {
		t.Errorf("REPL: exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
}

// INTO OUTFILE writes Parquet by extension, and IMPORT reads a directory or
// a glob of those files back as one table.
func TestSQLCLIParquetOutfileAndDirectoryImport(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	os.WriteFile(filepath.Join(dir, "a.csv"), []byte("usage,location\n2000,CAN\n10,USA\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.csv"), []byte("usage,location\n3000,MEX\n20,USA\n5,CAN\n"), 0o644)
	for _, n := range []string{"a", "b"} {
		q := "IMPORT FROM CSV FILE '" + n + ".csv' INTO t(usage double, location string); " +
			"SELECT * FROM DIFF (SPLIT t WHERE usage > 1000) ON location INTO OUTFILE 'logs/" + n + ".parquet'"
		if code, _, stderr := runDawn(t, "sql", "--dir", dir, "-e", q); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "logs", n+".parquet")); !bytes.HasPrefix(b, []byte("PAR1")) {
			t.Fatalf("%s.parquet is not Parquet: %q", n, b[:min(len(b), 20)])
		}
	}
	for _, src := range []string{"logs", "logs/*.parquet"} {
		code, out, stderr := runDawn(t, "sql", "--dir", dir, "--json", "-e", "IMPORT FROM CSV FILE '"+src+"' INTO l(location string, support double); SELECT location FROM l ORDER BY location;")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", src, code, stderr)
		}
		if !strings.Contains(out, `"CAN"`) || !strings.Contains(out, `"MEX"`) || strings.Contains(out, `"USA"`) {
			t.Errorf("%s: %s", src, out)
		}
	}
}
