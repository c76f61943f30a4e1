package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dawn-ml/dawn/tracking"
)

func init() {
	register(&command{
		name:    "runs",
		summary: "list, show and compare the runs of a tracking server",
		run: func(ctx context.Context, e *env, args []string) error {
			return dispatch(ctx, e, "runs", `Usage: dawn runs <subcommand> [flags]

Reads runs from a tracking server (dawn server or MLflow) for people who
live in a terminal; the web console at the server's / shows the same.

Example:
  dawn runs list --tracking-uri http://127.0.0.1:5000
  dawn runs compare RUN_ID RUN_ID --tracking-uri http://127.0.0.1:5000`,
				[]subcommand{
					{"list", "list runs, newest first (every active experiment by default)", runsList},
					{"show", "show one run: info, params, metrics, tags, inputs", runsShow},
					{"compare", "compare runs side by side, marking what differs", runsCompare},
				}, args)
		},
	})
}

// trackingURIFlag is --tracking-uri for the commands that read a server.
func trackingURIFlag(fs *flag.FlagSet) *string {
	return fs.String("tracking-uri", os.Getenv("MLFLOW_TRACKING_URI"), "tracking server, e.g. http://127.0.0.1:5000 (default $MLFLOW_TRACKING_URI)")
}

// readClient opens the client of a read command, naming what is missing.
func readClient(cmd, uri string) (*tracking.Client, error) {
	if uri == "" {
		return nil, usagef("%s: no tracking server: pass --tracking-uri or set MLFLOW_TRACKING_URI", cmd)
	}
	return newTrackingClient(uri)
}

// maxListRuns bounds `dawn runs list --max-results`: the server's page limit.
const maxListRuns = tracking.MaxRunResults

func runsList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "runs list", `Usage: dawn runs list [--experiment NAMES | --experiment-ids IDS] [--filter EXPR] [--order-by CLAUSES] [--columns COLS] [--max-results 100] [--view active|deleted|all] [--json]

Lists runs newest first. With no experiment flags it lists the runs of every
active experiment. --filter takes MLflow's search syntax, e.g.
"metrics.accuracy > 0.8 and params.method = 'snorkel'"; --order-by takes
comma-separated clauses such as "metrics.accuracy DESC"; --columns adds
params.X, metrics.Y or tags.Z columns to the table.

Example:
  dawn runs list --tracking-uri http://127.0.0.1:5000
  dawn runs list --experiment spam --filter "metrics.accuracy > 0.8" --order-by "metrics.accuracy DESC" --columns params.method,metrics.accuracy`)
	uri := trackingURIFlag(fs)
	exps := fs.String("experiment", "", "comma-separated experiment names")
	expIDs := fs.String("experiment-ids", "", "comma-separated experiment ids")
	filter := fs.String("filter", "", "MLflow search filter")
	orderBy := fs.String("order-by", "", "comma-separated order clauses (default: attributes.start_time DESC)")
	columns := fs.String("columns", "", "comma-separated params./metrics./tags. columns to show")
	max := fs.Int("max-results", 100, fmt.Sprintf("at most this many runs (1..%d)", maxListRuns))
	view := fs.String("view", "active", "active, deleted or all runs")
	asJSON := fs.Bool("json", false, "print JSON on stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	err := func() error {
		if *max < 1 || *max > maxListRuns {
			return usagef("runs list: --max-results must be 1..%d, got %d", maxListRuns, *max)
		}
		vt, err := viewName(*view)
		if err != nil {
			return err
		}
		cols, err := parseColumns(*columns)
		if err != nil {
			return err
		}
		c, err := readClient("runs list", *uri)
		if err != nil {
			return err
		}
		ids := splitList(*expIDs)
		expNames := map[string]string{}
		for _, n := range splitList(*exps) {
			x, err := c.GetExperimentByName(ctx, n)
			if err != nil {
				return fmt.Errorf("runs list: experiment %q: %w", n, err)
			}
			ids = append(ids, x.ExperimentID)
			expNames[x.ExperimentID] = x.Name
		}
		if len(ids) == 0 {
			all, err := allExperiments(ctx, c)
			if err != nil {
				return fmt.Errorf("runs list: %w", err)
			}
			for _, x := range all {
				ids = append(ids, x.ExperimentID)
				expNames[x.ExperimentID] = x.Name
			}
		}
		order := splitList(*orderBy)
		if len(order) == 0 {
			order = []string{"attributes.start_time DESC"}
		}
		var runs []tracking.Run
		token := ""
		for len(ids) > 0 && len(runs) < *max {
			page, next, err := c.FindRuns(ctx, tracking.RunSearch{ExperimentIDs: ids, Filter: *filter, OrderBy: order,
				View: vt, MaxResults: *max - len(runs), PageToken: token})
			if err != nil {
				return fmt.Errorf("runs list: %w", err)
			}
			runs = append(runs, page...)
			if token = next; token == "" {
				break
			}
		}
		if *asJSON {
			if runs == nil {
				runs = []tracking.Run{}
			}
			return writeJSON(e.stdout, map[string]any{"runs": runs})
		}
		printRuns(e.stdout, runs, expNames, cols)
		return nil
	}()
	return err
}

// viewName maps --view to MLflow's ViewType name.
func viewName(v string) (string, error) {
	switch strings.ToLower(v) {
	case "", "active":
		return "ACTIVE_ONLY", nil
	case "deleted":
		return "DELETED_ONLY", nil
	case "all":
		return "ALL", nil
	}
	return "", usagef("--view must be active, deleted or all, got %q", v)
}

// column is a params./metrics./tags. column of the runs table.
type column struct{ kind, key string }

func (c column) String() string { return c.kind + "." + c.key }

func parseColumns(s string) ([]column, error) {
	var out []column
	for _, f := range splitList(s) {
		kind, key, ok := strings.Cut(f, ".")
		switch kind {
		case "param":
			kind = "params"
		case "metric":
			kind = "metrics"
		case "tag":
			kind = "tags"
		}
		if !ok || key == "" || (kind != "params" && kind != "metrics" && kind != "tags") {
			return nil, usagef("--columns: %q must be params.KEY, metrics.KEY or tags.KEY", f)
		}
		out = append(out, column{kind, key})
	}
	return out, nil
}

// value is the run's value in column c, "" when it has none.
func (c column) value(r *tracking.Run) string {
	switch c.kind {
	case "params":
		for _, p := range r.Data.Params {
			if p.Key == c.key {
				return p.Value
			}
		}
	case "metrics":
		for _, m := range r.Data.Metrics {
			if m.Key == c.key {
				return formatMetric(float64(m.Value))
			}
		}
	case "tags":
		for _, t := range r.Data.Tags {
			if t.Key == c.key {
				return t.Value
			}
		}
	}
	return ""
}

func formatMetric(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// allExperiments follows the pages of the active experiments.
func allExperiments(ctx context.Context, c *tracking.Client) ([]tracking.Experiment, error) {
	var all []tracking.Experiment
	token := ""
	for {
		page, next, err := c.SearchExperiments(ctx, "", nil, "ACTIVE_ONLY", tracking.MaxExperimentResults, token)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if token = next; token == "" || len(page) == 0 {
			return all, nil
		}
	}
}

// duration is a run's wall time, "running" while it has no end.
func duration(r *tracking.Run) string {
	if r.Info.EndTime == nil || *r.Info.EndTime == 0 {
		if r.Info.Status == tracking.StatusRunning {
			return "running"
		}
		return ""
	}
	d := time.Duration(int64(*r.Info.EndTime)-int64(r.Info.StartTime)) * time.Millisecond
	return d.Round(time.Millisecond).String()
}

func startTime(r *tracking.Run) string {
	if r.Info.StartTime == 0 {
		return ""
	}
	return time.UnixMilli(int64(r.Info.StartTime)).UTC().Format("2006-01-02 15:04:05")
}

func printRuns(w io.Writer, runs []tracking.Run, expNames map[string]string, cols []column) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "RUN ID\tNAME\tEXPERIMENT\tSTATUS\tSTARTED (UTC)\tDURATION")
	for _, c := range cols {
		fmt.Fprintf(tw, "\t%s", c)
	}
	fmt.Fprintln(tw)
	for i := range runs {
		r := &runs[i]
		exp := expNames[r.Info.ExperimentID]
		if exp == "" {
			exp = r.Info.ExperimentID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s", r.Info.RunID, r.Info.RunName, exp, r.Info.Status, startTime(r), duration(r))
		for _, c := range cols {
			fmt.Fprintf(tw, "\t%s", c.value(r))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d runs\n", len(runs))
}

func runsShow(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "runs show", `Usage: dawn runs show RUN_ID [--tracking-uri URI] [--json]

Shows a run's info, params, latest metrics, tags and dataset inputs.

Example:
  dawn runs show 5f0c8e2a41b94c7d9e6a0b1c2d3e4f50 --tracking-uri http://127.0.0.1:5000`)
	uri := trackingURIFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON on stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	err := func() error {
		if fs.NArg() != 1 {
			return usagef("runs show: want one RUN_ID, got %d arguments", fs.NArg())
		}
		c, err := readClient("runs show", *uri)
		if err != nil {
			return err
		}
		r, err := c.GetRun(ctx, fs.Arg(0))
		if err != nil {
			return fmt.Errorf("runs show: run %s: %w", fs.Arg(0), err)
		}
		if *asJSON {
			return writeJSON(e.stdout, map[string]any{"run": r})
		}
		w := e.stdout
		fmt.Fprintf(w, "run %s", r.Info.RunID)
		if r.Info.RunName != "" {
			fmt.Fprintf(w, " (%s)", r.Info.RunName)
		}
		fmt.Fprintf(w, "\n  experiment %s, status %s, started %s, duration %s, lifecycle %s\n  artifacts %s\n",
			r.Info.ExperimentID, r.Info.Status, startTime(r), duration(r), r.Info.LifecycleStage, r.Info.ArtifactURI)
		section := func(name string, kv [][2]string) {
			if len(kv) == 0 {
				return
			}
			fmt.Fprintf(w, "%s:\n", name)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			for _, p := range kv {
				fmt.Fprintf(tw, "  %s\t%s\n", p[0], oneLine(p[1]))
			}
			tw.Flush()
		}
		section("params", paramPairs(r))
		section("metrics", metricPairs(r))
		section("tags", tagPairs(r))
		var in [][2]string
		for _, d := range r.Inputs.DatasetInputs {
			if d.Dataset == nil {
				continue
			}
			role := ""
			for _, t := range d.Tags {
				if t.Key == "mlflow.data.context" {
					role = t.Value
				}
			}
			in = append(in, [2]string{role, fmt.Sprintf("%s digest %s (%s)", d.Dataset.Name, d.Dataset.Digest, d.Dataset.Source)})
		}
		section("inputs", in)
		return nil
	}()
	return err
}

// oneLine keeps a long or multi-line value on one table row.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", `\n`)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

func paramPairs(r *tracking.Run) [][2]string {
	var kv [][2]string
	for _, p := range r.Data.Params {
		kv = append(kv, [2]string{p.Key, p.Value})
	}
	sort.Slice(kv, func(i, j int) bool { return kv[i][0] < kv[j][0] })
	return kv
}

func metricPairs(r *tracking.Run) [][2]string {
	var kv [][2]string
	for _, m := range r.Data.Metrics {
		kv = append(kv, [2]string{m.Key, formatMetric(float64(m.Value))})
	}
	sort.Slice(kv, func(i, j int) bool { return kv[i][0] < kv[j][0] })
	return kv
}

func tagPairs(r *tracking.Run) [][2]string {
	var kv [][2]string
	for _, t := range r.Data.Tags {
		kv = append(kv, [2]string{t.Key, t.Value})
	}
	sort.Slice(kv, func(i, j int) bool { return kv[i][0] < kv[j][0] })
	return kv
}

// compareRow is one key of `dawn runs compare`: its value in each run.
type compareRow struct {
	Kind    string   `json:"kind"`
	Key     string   `json:"key"`
	Values  []string `json:"values"`
	Differs bool     `json:"differs"`
}

// compareRuns lines up the params, metrics and (non-system) tags of runs;
// a key a run lacks is "" there, and counts as a difference.
func compareRuns(runs []*tracking.Run, withTags bool) []compareRow {
	var rows []compareRow
	add := func(kind string, pairs func(*tracking.Run) [][2]string) {
		idx := map[string]int{}
		start := len(rows)
		for i, r := range runs {
			for _, p := range pairs(r) {
				if kind == "tags" && strings.HasPrefix(p[0], "mlflow.") {
					continue
				}
				j, ok := idx[p[0]]
				if !ok {
					j = len(rows)
					idx[p[0]] = j
					rows = append(rows, compareRow{Kind: kind, Key: p[0], Values: make([]string, len(runs))})
				}
				rows[j].Values[i] = p[1]
			}
		}
		part := rows[start:]
		sort.Slice(part, func(i, j int) bool { return part[i].Key < part[j].Key })
	}
	add("params", paramPairs)
	add("metrics", metricPairs)
	if withTags {
		add("tags", tagPairs)
	}
	for i := range rows {
		for _, v := range rows[i].Values[1:] {
			if v != rows[i].Values[0] {
				rows[i].Differs = true
			}
		}
	}
	return rows
}

func runsCompare(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "runs compare", `Usage: dawn runs compare RUN_ID RUN_ID... [--diff-only] [--tags] [--tracking-uri URI] [--json]

Lines up the params and latest metrics (and with --tags the user tags) of
two or more runs; rows whose values differ are marked with *.

Example:
  dawn runs compare 5f0c8e2a41b9 9a1b2c3d4e5f --diff-only --tracking-uri http://127.0.0.1:5000`)
	uri := trackingURIFlag(fs)
	diffOnly := fs.Bool("diff-only", false, "show only the rows that differ")
	withTags := fs.Bool("tags", false, "compare user tags too (mlflow.* tags are left out)")
	asJSON := fs.Bool("json", false, "print JSON on stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	err := func() error {
		if fs.NArg() < 2 {
			return usagef("runs compare: want at least two RUN_IDs, got %d", fs.NArg())
		}
		if fs.NArg() > maxCompareRuns {
			return usagef("runs compare: at most %d runs, got %d", maxCompareRuns, fs.NArg())
		}
		c, err := readClient("runs compare", *uri)
		if err != nil {
			return err
		}
		var runs []*tracking.Run
		for _, id := range fs.Args() {
			r, err := c.GetRun(ctx, id)
			if err != nil {
				return fmt.Errorf("runs compare: run %s: %w", id, err)
			}
			runs = append(runs, r)
		}
		rows := compareRuns(runs, *withTags)
		if *diffOnly {
			kept := rows[:0]
			for _, r := range rows {
				if r.Differs {
					kept = append(kept, r)
				}
			}
			rows = kept
		}
		if *asJSON {
			ids := make([]string, len(runs))
			for i, r := range runs {
				ids[i] = r.Info.RunID
			}
			if rows == nil {
				rows = []compareRow{}
			}
			return writeJSON(e.stdout, map[string]any{"run_ids": ids, "rows": rows})
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "\tKEY")
		for _, r := range runs {
			name := r.Info.RunName
			if name == "" {
				name = r.Info.RunID
			}
			fmt.Fprintf(tw, "\t%s", name)
		}
		fmt.Fprintln(tw)
		for _, row := range rows {
			mark := " "
			if row.Differs {
				mark = "*"
			}
			fmt.Fprintf(tw, "%s\t%s.%s", mark, row.Kind, row.Key)
			for _, v := range row.Values {
				fmt.Fprintf(tw, "\t%s", oneLine(v))
			}
			fmt.Fprintln(tw)
		}
		return tw.Flush()
	}()
	return err
}

// maxCompareRuns bounds a comparison (each run is one request).
const maxCompareRuns = 100
