package web

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/internal/httpx"
	"github.com/dawn-ml/dawn/mbsql"
	"github.com/dawn-ml/dawn/tracking"
)

// Bounds of the explanations page.
const (
	maxExplainSQL     = 64 << 10  // bytes of one query text
	maxExplainFile    = 256 << 20 // bytes of one imported artifact
	maxExplainImports = 8         // artifacts one query text may import
	maxExplainRows    = 1000      // result rows shown
)

// explainCell is one value of a result table; Bar is its share of the
// column's largest finite value for the support and ratio columns.
type explainCell struct {
	Text string
	Bar  float64
	Num  bool
}

type explainTable struct {
	Columns []string
	Rows    [][]explainCell
	More    int
	Message string
}

// barColumns get a bar under their value.
func barColumn(name string) bool {
	n := strings.ToLower(name)
	return n == "support" || strings.HasSuffix(n, "_ratio") || n == "risk_ratio"
}

// explainPage runs MacroBase SQL (IMPORT, SELECT ... DIFF) over the run's
// artifacts: IMPORT paths name artifacts of the run (cleaned, never the
// server's files) and INTO OUTFILE is refused, so a query reads nothing
// outside the run and writes nothing.
func (c *console) explainPage(w http.ResponseWriter, r *http.Request) error {
	run, err := c.Store.GetRun(r.Context(), r.PathValue("run"))
	if err != nil {
		return err
	}
	src := r.URL.Query().Get("sql")
	d := map[string]any{"Run": run, "SQL": src}
	if src == "" {
		entries, _ := c.listArtifacts(r, run, "")
		var files []string
		for _, e := range entries {
			if !e.IsDir && (previewKind(e.Path) == "table" || previewKind(e.Path) == "parquet") {
				files = append(files, e.Path)
			}
		}
		d["Files"] = files
		c.render(w, r, "explain", "Explain · "+runTitle(run), d, 0)
		return nil
	}
	if len(src) > maxExplainSQL {
		return badRequest("Query of %d bytes is over the limit of %d", len(src), maxExplainSQL)
	}
	tables, err := c.runExplain(r, run, src)
	var he *httpx.Error
	var se serverErr
	switch {
	case errors.As(err, &se):
		return se.error
	case errors.As(err, &he):
		d["Error"] = he.Message
		c.render(w, r, "explain", "Explain · "+runTitle(run), d, he.Status)
		return nil
	case err != nil: // the query's mistake: a parse error, an unknown column
		d["Error"] = err.Error()
		c.render(w, r, "explain", "Explain · "+runTitle(run), d, http.StatusBadRequest)
		return nil
	}
	d["Tables"] = tables
	c.render(w, r, "explain", "Explain · "+runTitle(run), d, 0)
	return nil
}

func (c *console) runExplain(r *http.Request, run *tracking.Run, src string) ([]explainTable, error) {
	stmts, err := mbsql.Parse(src)
	if err != nil {
		return nil, err
	}
	imports := 0
	for _, st := range stmts {
		switch st := st.(type) {
		case *mbsql.Query:
			if st.Outfile != "" {
				return nil, badRequest("INTO OUTFILE is not allowed in the console (line %d)", st.Pos.Line)
			}
		case *mbsql.Import:
			if imports++; imports > maxExplainImports {
				return nil, badRequest("At most %d IMPORTs in one query", maxExplainImports)
			}
		}
	}
	repo, base, err := c.artifactRepo(run)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "dawn-explain-*")
	if err != nil {
		return nil, serverErr{err}
	}
	defer os.RemoveAll(tmp)
	s := mbsql.NewSession("")
	s.Load = func(p string, kinds map[string]explain.Kind) (*explain.Frame, error) {
		clean, err := artifact.CleanPath(p)
		if err != nil || clean == "" {
			return nil, badRequest("IMPORT %q: name an artifact of the run, e.g. 'data/sample.csv'", p)
		}
		rc, size, err := repo.Open(r.Context(), path.Join(base, clean))
		if err != nil {
			return nil, tracking.NotFoundf("IMPORT %q: no such artifact in run %s", p, run.Info.RunID)
		}
		defer rc.Close()
		if size > maxExplainFile {
			return nil, badRequest("IMPORT %q: %d bytes is over the limit of %d", p, size, maxExplainFile)
		}
		local := filepath.Join(tmp, fmt.Sprintf("%d%s", len(s.Tables), path.Ext(clean)))
		f, err := os.Create(local)
		if err != nil {
			return nil, serverErr{err}
		}
		_, err = io.Copy(f, io.LimitReader(rc, maxExplainFile))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, serverErr{err}
		}
		return explain.ReadFrame(local, explain.ReadOptions{Kinds: kinds})
	}
	var out []explainTable
	for _, st := range stmts {
		res, err := s.Run(st)
		if err != nil {
			return nil, err
		}
		out = append(out, tableOf(res))
	}
	return out, nil
}

// serverErr marks a failure of the server (temp files), not of the query.
type serverErr struct{ error }

func tableOf(res *mbsql.Result) explainTable {
	if res.Frame == nil {
		return explainTable{Message: res.Message}
	}
	f := res.Frame
	t := explainTable{}
	n := min(f.Rows, maxExplainRows)
	t.More = f.Rows - n
	peak := make([]float64, len(f.Cols))
	for j, col := range f.Cols {
		t.Columns = append(t.Columns, col.Name)
		if col.Num != nil && barColumn(col.Name) {
			for i := 0; i < n; i++ {
				if v := col.Num[i]; isFinite(v) && v > peak[j] {
					peak[j] = v
				}
			}
		}
	}
	for i := 0; i < n; i++ {
		row := make([]explainCell, len(f.Cols))
		for j, col := range f.Cols {
			if col.Num != nil {
				v := col.Num[i]
				row[j] = explainCell{Text: mbsql.JavaDouble(v), Num: true}
				switch {
				case peak[j] > 0 && isFinite(v) && v > 0:
					row[j].Bar = math.Round(1000*v/peak[j]) / 10
				case math.IsInf(v, 1) && barColumn(col.Name):
					row[j].Bar = 100
				}
			} else if v, ok := col.Str.Value(i); ok {
				row[j] = explainCell{Text: v}
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
