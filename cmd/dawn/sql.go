package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/mbsql"
)

const sqlUsage = `
Usage: dawn sql [-e 'STATEMENTS' | -f FILE.sql] [--json] [--dir DIR]

Run MacroBase SQL: IMPORT FROM CSV FILE, SELECT ... WHERE ... ORDER BY ...
LIMIT, joins, percentile() and normalize(), and DIFF (two subqueries or
SPLIT ... WHERE, ON cols | *, WITH MIN SUPPORT s MIN RATIO r, COMPARE BY
risk_ratio|global_ratio|prevalence_ratio(COUNT(*)), MAX COMBO n, INTO OUTFILE).
With neither -e nor -f, statements are read from stdin (a prompt on a terminal).

Example:
  dawn sql -e "IMPORT FROM CSV FILE 'sample.csv' INTO t(usage double, location string, version string);
    SELECT * FROM DIFF (SPLIT t WHERE usage > 1000) ON location, version WITH MIN SUPPORT 0.2 MIN RATIO 1.5;"
`

func init() {
	register(&command{name: "sql", summary: "MacroBase SQL with the DIFF operator", run: runSQL})
}

func runSQL(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "sql", sqlUsage)
	expr := fs.String("e", "", "statements to run, separated by ';'")
	file := fs.String("f", "", "file of statements to run")
	jsonOut := fs.Bool("json", false, "print one JSON object with every result on stdout")
	dir := fs.String("dir", "", "directory relative file names are resolved against (default: the working directory)")
	maxRows := fs.Int("max-rows", 0, "show at most this many rows of a result table (0: all)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("sql: unexpected argument %q", fs.Arg(0))
	}
	if *expr != "" && *file != "" {
		return usagef("sql: give -e or -f, not both")
	}
	s := mbsql.NewSession(*dir)
	s.Load = func(path string, kinds map[string]explain.Kind) (*explain.Frame, error) {
		return explain.ReadFrame(path, explain.ReadOptions{Kinds: kinds})
	}
	var results []map[string]any
	emit := func(r *mbsql.Result) error {
		if *jsonOut {
			results = append(results, resultJSON(r))
			return nil
		}
		return printResult(e.stdout, r, *maxRows)
	}
	src := *expr
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return fmt.Errorf("sql: %w", err)
		}
		src = string(b)
	}
	if src == "" {
		if *jsonOut {
			return usagef("sql: --json needs -e or -f")
		}
		return sqlREPL(ctx, e, s, *maxRows)
	}
	if err := s.Exec(src, emit); err != nil {
		if *file != "" {
			return fmt.Errorf("%s: %w", *file, err)
		}
		return err
	}
	if *jsonOut {
		return writeJSON(e.stdout, map[string]any{"results": results})
	}
	return nil
}

func printResult(w io.Writer, r *mbsql.Result, maxRows int) error {
	switch {
	case r.Message != "":
		_, err := fmt.Fprintln(w, r.Message)
		return err
	case r.Outfile != "":
		_, err := fmt.Fprintf(w, "wrote %d rows to %s\n", r.Frame.Rows, r.Outfile)
		return err
	}
	return mbsql.WriteTable(w, r.Frame, maxRows)
}

func resultJSON(r *mbsql.Result) map[string]any {
	if r.Frame == nil {
		return map[string]any{"message": r.Message}
	}
	cols := make([]string, len(r.Frame.Cols))
	for i, c := range r.Frame.Cols {
		cols[i] = c.Name
	}
	rows := make([][]any, r.Frame.Rows)
	for i := range rows {
		row := make([]any, len(cols))
		for j, c := range r.Frame.Cols {
			switch {
			case c.Num != nil && (math.IsInf(c.Num[i], 0) || math.IsNaN(c.Num[i])):
				row[j] = mbsql.JavaDouble(c.Num[i])
			case c.Num != nil:
				row[j] = c.Num[i]
			default:
				if v, ok := c.Str.Value(i); ok {
					row[j] = v
				}
			}
		}
		rows[i] = row
	}
	out := map[string]any{"columns": cols, "rows": rows}
	if r.Outfile != "" {
		out["outfile"] = r.Outfile
	}
	return out
}

// sqlREPL reads statements from stdin until EOF, running each complete one.
func sqlREPL(ctx context.Context, e *env, s *mbsql.Session, maxRows int) error {
	tty := false
	if f, ok := e.stdin.(*os.File); ok {
		tty = isTerminal(f) && isTerminal(e.stdout)
	}
	prompt := func(cont bool) {
		if tty {
			if cont {
				fmt.Fprint(e.stdout, "   ...> ")
			} else {
				fmt.Fprint(e.stdout, "macrobase-sql> ")
			}
		}
	}
	sc := bufio.NewScanner(e.stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var buf strings.Builder
	failed := false
	line, start := 0, 1 // input line numbers, and where the pending chunk starts
	run := func(src string) {
		err := s.Exec(src, func(r *mbsql.Result) error { return printResult(e.stdout, r, maxRows) })
		if err == nil {
			return
		}
		// Positions count from the chunk; report them in input lines.
		var pe *mbsql.Error
		if errors.As(err, &pe) {
			pe.Pos.Line += start - 1
		}
		fmt.Fprintf(e.stderr, "dawn: sql: %v\n", err)
		failed = true
	}
	prompt(false)
	for sc.Scan() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		line++
		if buf.Len() == 0 {
			start = line
		}
		buf.WriteString(sc.Text())
		buf.WriteByte('\n')
		if !strings.Contains(sc.Text(), ";") {
			prompt(strings.TrimSpace(buf.String()) != "")
			if strings.TrimSpace(buf.String()) == "" {
				buf.Reset()
			}
			continue
		}
		src := buf.String()
		buf.Reset()
		run(src)
		prompt(false)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("sql: read stdin: %w", err)
	}
	if rest := buf.String(); strings.TrimSpace(rest) != "" {
		run(rest)
	}
	if failed && !tty {
		return fmt.Errorf("sql: some statements failed")
	}
	return nil
}
