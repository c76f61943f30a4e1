package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/dawn-ml/dawn/tracking"
)

// maxCompare bounds the runs of one comparison.
const maxCompare = 100

// diffRow is one key of the comparison with its value in each run.
type diffRow struct {
	Kind    string
	Key     string
	Values  []string
	Differs bool
}

// Diff lines up the params and latest metrics of runs; a key a run lacks
// is "" there and counts as a difference.
func Diff(runs []*tracking.Run) []diffRow {
	var rows []diffRow
	add := func(kind string, get func(*tracking.Run) map[string]string) {
		idx := map[string]int{}
		start := len(rows)
		for i, r := range runs {
			for k, v := range get(r) {
				j, ok := idx[k]
				if !ok {
					j = len(rows)
					idx[k] = j
					rows = append(rows, diffRow{Kind: kind, Key: k, Values: make([]string, len(runs))})
				}
				rows[j].Values[i] = v
			}
		}
		part := rows[start:]
		sort.Slice(part, func(i, j int) bool { return part[i].Key < part[j].Key })
	}
	add("params", func(r *tracking.Run) map[string]string {
		m := map[string]string{}
		for _, p := range r.Data.Params {
			m[p.Key] = p.Value
		}
		return m
	})
	add("metrics", func(r *tracking.Run) map[string]string {
		m := map[string]string{}
		for _, x := range r.Data.Metrics {
			m[x.Key] = fmtMetric(float64(x.Value))
		}
		return m
	})
	for i := range rows {
		for _, v := range rows[i].Values[1:] {
			if v != rows[i].Values[0] {
				rows[i].Differs = true
			}
		}
	}
	return rows
}

// numeric reports whether every non-empty value parses as a number.
func numeric(vals []string) bool {
	any := false
	for _, v := range vals {
		if v == "" {
			continue
		}
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return false
		}
		any = true
	}
	return any
}

func (c *console) comparePage(w http.ResponseWriter, r *http.Request) error {
	ids := splitIDs(strings.Join(r.URL.Query()["runs"], ","))
	if len(ids) < 1 || len(ids) > maxCompare {
		return badRequest("Select 1..%d runs to compare, got %d", maxCompare, len(ids))
	}
	var runs []*tracking.Run
	for _, id := range ids {
		run, err := c.Store.GetRun(r.Context(), id)
		if err != nil {
			return err
		}
		runs = append(runs, run)
	}
	rows := Diff(runs)
	diffOnly := r.URL.Query().Get("diff") == "1"
	var shown []diffRow
	var axes []string // numeric keys, for parallel coordinates and scatter
	var metricKeys []string
	for _, row := range rows {
		if !diffOnly || row.Differs {
			shown = append(shown, row)
		}
		if numeric(row.Values) {
			axes = append(axes, row.Kind+"."+row.Key)
		}
		if row.Kind == "metrics" {
			metricKeys = append(metricKeys, row.Key)
		}
	}
	names := make([]string, len(runs))
	for i, run := range runs {
		names[i] = runTitle(run)
	}
	key := r.URL.Query().Get("key")
	if key == "" && len(metricKeys) > 0 {
		key = metricKeys[0]
	}
	c.render(w, r, "compare", "Compare runs", map[string]any{
		"Runs": runs, "Names": names, "Rows": shown, "DiffOnly": diffOnly, "IDs": strings.Join(ids, ","),
		"Axes": axes, "MetricKeys": metricKeys, "Key": key, "Table": compareData(runs, rows),
	}, 0)
	return nil
}

// compareData is the numeric table the compare page's charts draw, as
// JSON the page embeds: one row per run, one column per numeric key.
func compareData(runs []*tracking.Run, rows []diffRow) map[string]any {
	var cols []string
	var vals [][]*float64
	for _, row := range rows {
		if !numeric(row.Values) {
			continue
		}
		cols = append(cols, row.Kind+"."+row.Key)
		col := make([]*float64, len(runs))
		for i, v := range row.Values {
			if f, err := strconv.ParseFloat(v, 64); err == nil && isFinite(f) {
				col[i] = &f
			}
		}
		vals = append(vals, col)
	}
	names := make([]string, len(runs))
	for i, r := range runs {
		names[i] = runTitle(r)
	}
	return map[string]any{"runs": names, "columns": cols, "values": vals}
}
