package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/tracking"
)

// Page sizes of the runs table: MLflow's UI fetches 100 at a time.
const (
	defaultPageRuns = 100
	maxPageRuns     = 1000
	// maxPickerKeys bounds the keys the column picker offers per kind.
	maxPickerKeys = 500
	// pickerRuns is how many of the newest runs the picker's keys come
	// from: 1,000 runs × 70 keys cost about 200 ms at load 30 (three
	// times the page itself); 200 runs cost a fifth of that.
	pickerRuns = 200
	// defaultMetricCols is how many metric columns show before any are chosen.
	defaultMetricCols = 6
)

func (c *console) experiments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	search, view := strings.TrimSpace(q.Get("q")), q.Get("view")
	sq := tracking.SearchQuery{MaxResults: tracking.MaxExperimentResults}
	switch view {
	case "deleted":
		sq.View = tracking.DeletedOnly
	case "all":
		sq.View = tracking.All
	default:
		view = ""
	}
	if search != "" {
		f, err := tracking.ParseExperimentFilter("name ILIKE '%" + strings.ReplaceAll(search, "'", `\'`) + "%'")
		if err != nil {
			return err
		}
		sq.Filter = f
	}
	sq.OrderBy, _ = tracking.ParseExperimentOrderBy([]string{"last_update_time DESC"})
	exps, _, err := c.Store.SearchExperiments(r.Context(), sq)
	if err != nil {
		return err
	}
	type row struct {
		tracking.Experiment
		CanEdit, CanManage bool
	}
	rows := make([]row, 0, len(exps))
	for _, e := range exps {
		if !c.can(r, KindExperiment, e.ExperimentID, Read) {
			continue
		}
		rows = append(rows, row{e, c.can(r, KindExperiment, e.ExperimentID, Edit), c.can(r, KindExperiment, e.ExperimentID, Manage)})
	}
	c.render(w, r, "experiments", "Experiments", map[string]any{"Experiments": rows, "Q": search, "View": view}, 0)
	return nil
}

func (c *console) createExperiment(w http.ResponseWriter, r *http.Request) error {
	if err := form(w, r); err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if err := tracking.ValidateExperimentName(name); err != nil {
		return err
	}
	id, err := c.Store.CreateExperiment(r.Context(), name, "", nil)
	if err != nil {
		return err
	}
	c.redirect(w, r, "/experiments/"+url.PathEscape(id))
	return nil
}

func (c *console) renameExperiment(w http.ResponseWriter, r *http.Request) error {
	if err := form(w, r); err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if err := tracking.ValidateExperimentName(name); err != nil {
		return err
	}
	if err := c.Store.RenameExperiment(r.Context(), r.PathValue("id"), name); err != nil {
		return err
	}
	c.redirect(w, r, "/")
	return nil
}

func (c *console) deleteExperiment(w http.ResponseWriter, r *http.Request) error {
	if err := c.Store.SetExperimentStage(r.Context(), r.PathValue("id"), tracking.StageDeleted); err != nil {
		return err
	}
	c.redirect(w, r, "/")
	return nil
}

func (c *console) restoreExperiment(w http.ResponseWriter, r *http.Request) error {
	if err := c.Store.SetExperimentStage(r.Context(), r.PathValue("id"), tracking.StageActive); err != nil {
		return err
	}
	c.redirect(w, r, "/?view=deleted")
	return nil
}

// Column is a params./metrics./tags. column of the runs table.
type Column struct{ Kind, Key string }

func (k Column) String() string { return k.Kind + "." + k.Key }

// ParseColumns reads the cols query value: comma-separated
// params.KEY, metrics.KEY or tags.KEY (keys may not hold commas).
func ParseColumns(s string) ([]Column, error) {
	var out []Column
	seen := map[Column]bool{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		kind, key, ok := strings.Cut(f, ".")
		if !ok || key == "" || (kind != "params" && kind != "metrics" && kind != "tags") {
			return nil, badRequest("Invalid column %q: want params.KEY, metrics.KEY or tags.KEY", f)
		}
		col := Column{kind, key}
		if !seen[col] {
			seen[col] = true
			out = append(out, col)
		}
	}
	if len(out) > maxColumns {
		return nil, badRequest("Too many columns: %d, at most %d", len(out), maxColumns)
	}
	return out, nil
}

// maxColumns bounds the chosen columns (MLflow's UI crashes with 12,000).
const maxColumns = 200

// runRow is one row of the runs table.
type runRow struct {
	Run      *tracking.Run
	Name     string
	Parent   string
	Depth    int
	Duration string
	Values   []string
	Numeric  []bool
}

// runsView is the runs table with its query, as the template sees it.
type runsView struct {
	Experiment   *tracking.Experiment
	Filter       string
	Order        string
	Cols         []Column
	ColsValue    string
	View         string
	Rows         []runRow
	Next         string
	Page         string
	N            int
	Params       []string
	Metrics      []string
	Tags         []string
	KeysSampled  bool // the picker's keys are those of the newest runs only
	ServerMillis float64
}

// link is the URL of the runs table with one query value changed; every
// state of the table is in its URL, so links can be shared.
func (v *runsView) link(prefix string, set map[string]string) string {
	q := url.Values{}
	put := func(k, val string) {
		if val != "" {
			q.Set(k, val)
		}
	}
	put("filter", v.Filter)
	put("order", v.Order)
	put("cols", v.ColsValue)
	put("view", v.View)
	if v.N != defaultPageRuns {
		put("n", strconv.Itoa(v.N))
	}
	for k, val := range set {
		q.Del(k)
		put(k, val)
	}
	s := prefix + "/experiments/" + url.PathEscape(v.Experiment.ExperimentID)
	if enc := q.Encode(); enc != "" {
		s += "?" + enc
	}
	return s
}

// SortLink is the link that sorts by col, toggling the direction when the
// table is sorted by it already.
func (v *runsView) SortLink(prefix, col string) string {
	dir := "DESC"
	if v.Order == col+" DESC" {
		dir = "ASC"
	}
	return v.link(prefix, map[string]string{"order": col + " " + dir, "page": ""})
}

// SortMark is ▲ or ▼ on the column the table is sorted by.
func (v *runsView) SortMark(col string) string {
	switch v.Order {
	case col + " DESC":
		return "▼"
	case col + " ASC":
		return "▲"
	}
	return ""
}

// NextLink is the next page's link.
func (v *runsView) NextLink(prefix string) string {
	return v.link(prefix, map[string]string{"page": v.Next})
}

// FirstLink is the first page's link.
func (v *runsView) FirstLink(prefix string) string {
	return v.link(prefix, map[string]string{"page": ""})
}

// Chosen reports whether a column is shown.
func (v *runsView) Chosen(kind, key string) bool {
	for _, c := range v.Cols {
		if c.Kind == kind && c.Key == key {
			return true
		}
	}
	return false
}

func (c *console) runsPage(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	ctx := r.Context()
	exp, err := c.Store.GetExperiment(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	v := &runsView{Experiment: exp, Filter: strings.TrimSpace(q.Get("filter")), Order: strings.TrimSpace(q.Get("order")),
		View: q.Get("view"), Page: q.Get("page"), N: defaultPageRuns}
	if n := q.Get("n"); n != "" {
		if v.N, err = strconv.Atoi(n); err != nil || v.N < 1 || v.N > maxPageRuns {
			return badRequest("Invalid page size n=%q: want 1..%d", n, maxPageRuns)
		}
	}
	// The column picker sends one cols value per checked box; the URL
	// keeps them joined.
	v.Cols, err = ParseColumns(strings.Join(q["cols"], ","))
	if err != nil {
		return err
	}
	rq := tracking.RunQuery{ExperimentIDs: []string{exp.ExperimentID}}
	rq.MaxResults, rq.PageToken = v.N, v.Page
	switch v.View {
	case "deleted":
		rq.View = tracking.DeletedOnly
	case "all":
		rq.View = tracking.All
	default:
		v.View = ""
	}
	if rq.Filter, err = tracking.ParseRunFilter(v.Filter); err != nil {
		return err
	}
	if v.Order != "" {
		if rq.OrderBy, err = tracking.ParseRunOrderBy([]string{v.Order}); err != nil {
			return err
		}
	}
	// The picker's keys come from the store's key index of the newest
	// runs, and the page loads only the chosen columns' keys (plus the
	// parent tag that nests runs): a 100-run page of a 50-param run
	// reads 6 metric values per run, not 70 keys.
	keys, err := c.Store.RunKeys(ctx, rq.ExperimentIDs, pickerRuns, maxPickerKeys)
	if err != nil {
		return err
	}
	v.Params, v.Metrics, v.Tags, v.KeysSampled = keys.Params, keys.Metrics, withoutMLflowTags(keys.Tags), keys.Sampled
	if len(v.Cols) == 0 {
		for _, m := range v.Metrics[:min(len(v.Metrics), defaultMetricCols)] {
			v.Cols = append(v.Cols, Column{"metrics", m})
		}
	} else {
		parts := make([]string, len(v.Cols))
		for i, col := range v.Cols {
			parts[i] = col.String()
		}
		v.ColsValue = strings.Join(parts, ",")
	}
	rq.Project = projection(v.Cols)
	// A chosen column the newest runs lack still shows in the picker,
	// checked, so applying the picker keeps it.
	for _, col := range v.Cols {
		if list := v.keysOf(col.Kind); list != nil {
			*list = addKey(*list, col.Key)
		}
	}
	runs, next, err := c.Store.SearchRuns(ctx, rq)
	if err != nil {
		return err
	}
	v.Next = next
	v.Rows = nestRuns(runs, v.Cols, v.Order == "")
	v.ServerMillis = float64(time.Since(start).Microseconds()) / 1000
	w.Header().Set("Server-Timing", "store;dur="+strconv.FormatFloat(v.ServerMillis, 'f', 2, 64))
	c.render(w, r, "runs", exp.Name, map[string]any{"V": v, "KeyRuns": pickerRuns, "CanEdit": c.can(r, KindExperiment, exp.ExperimentID, Edit)}, 0)
	return nil
}

// parentTag links a nested run to its parent (MLflow's tag).
const parentTag = "mlflow.parentRunId"

// projection is what the runs table loads: the chosen columns' keys and
// the parent tag.
func projection(cols []Column) *tracking.Projection {
	p := &tracking.Projection{Params: []string{}, Metrics: []string{}, Tags: []string{parentTag}}
	for _, col := range cols {
		if col.Kind == "tags" && col.Key == parentTag {
			continue
		}
		if list := kindList(col.Kind, &p.Params, &p.Metrics, &p.Tags); list != nil {
			*list = append(*list, col.Key)
		}
	}
	return p
}

// kindList picks the list of a column kind.
func kindList(kind string, params, metrics, tags *[]string) *[]string {
	switch kind {
	case "params":
		return params
	case "metrics":
		return metrics
	case "tags":
		return tags
	}
	return nil
}

// keysOf is the picker's list of a column kind.
func (v *runsView) keysOf(kind string) *[]string {
	return kindList(kind, &v.Params, &v.Metrics, &v.Tags)
}

// withoutMLflowTags leaves out the mlflow.* tags the picker does not offer.
func withoutMLflowTags(tags []string) []string {
	out := tags[:0:0]
	for _, t := range tags {
		if !strings.HasPrefix(t, "mlflow.") {
			out = append(out, t)
		}
	}
	return out
}

// addKey adds k to the sorted keys unless it is there.
func addKey(keys []string, k string) []string {
	i, found := slices.BinarySearch(keys, k)
	if found {
		return keys
	}
	return slices.Insert(keys, i, k)
}

// tagValue is a run's tag, "" when unset.
func tagValue(r *tracking.Run, key string) string {
	for _, t := range r.Data.Tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// cell is a run's value in a column and whether it is a number.
func cell(r *tracking.Run, col Column) (string, bool) {
	switch col.Kind {
	case "params":
		for _, p := range r.Data.Params {
			if p.Key == col.Key {
				return p.Value, false
			}
		}
	case "metrics":
		for _, m := range r.Data.Metrics {
			if m.Key == col.Key {
				return fmtMetric(float64(m.Value)), true
			}
		}
	case "tags":
		return tagValue(r, col.Key), false
	}
	return "", false
}

// nestRuns orders a page so child runs (tag mlflow.parentRunId) follow
// their parent when both are on the page and nest is set (the default
// order); otherwise the page keeps the store's order and children show
// their parent's id.
func nestRuns(runs []tracking.Run, cols []Column, nest bool) []runRow {
	rows := make([]runRow, 0, len(runs))
	mk := func(r *tracking.Run, depth int) runRow {
		row := runRow{Run: r, Name: r.Info.RunName, Parent: tagValue(r, parentTag), Depth: depth, Duration: runDuration(r)}
		if row.Name == "" {
			row.Name = r.Info.RunID[:min(len(r.Info.RunID), 8)]
		}
		for _, col := range cols {
			val, num := cell(r, col)
			row.Values = append(row.Values, val)
			row.Numeric = append(row.Numeric, num)
		}
		return row
	}
	if !nest {
		for i := range runs {
			rows = append(rows, mk(&runs[i], 0))
		}
		return rows
	}
	onPage := map[string]bool{}
	children := map[string][]int{}
	for i := range runs {
		onPage[runs[i].Info.RunID] = true
	}
	var roots []int
	for i := range runs {
		if p := tagValue(&runs[i], parentTag); p != "" && onPage[p] && p != runs[i].Info.RunID {
			children[p] = append(children[p], i)
		} else {
			roots = append(roots, i)
		}
	}
	done := map[int]bool{}
	var walk func(i, depth int)
	walk = func(i, depth int) {
		if done[i] || depth > maxNesting {
			return
		}
		done[i] = true
		rows = append(rows, mk(&runs[i], depth))
		for _, ch := range children[runs[i].Info.RunID] {
			walk(ch, depth+1)
		}
	}
	for _, i := range roots {
		walk(i, 0)
	}
	for i := range runs { // cycles of parent tags: show them flat
		if !done[i] {
			rows = append(rows, mk(&runs[i], 0))
		}
	}
	return rows
}

// maxNesting bounds the depth of nested runs drawn.
const maxNesting = 16

func runDuration(r *tracking.Run) string {
	if r.Info.EndTime == nil || *r.Info.EndTime == 0 {
		if r.Info.Status == tracking.StatusRunning {
			return "running"
		}
		return ""
	}
	d := time.Duration(int64(*r.Info.EndTime)-int64(r.Info.StartTime)) * time.Millisecond
	switch {
	case d < time.Second:
		return d.String()
	case d < time.Hour:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func fmtMillis(t tracking.Int64) string {
	if t == 0 {
		return ""
	}
	return time.UnixMilli(int64(t)).UTC().Format("2006-01-02 15:04:05")
}

func fmtMetric(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
