// Package report renders monitor windows as one self-contained HTML file:
// inline CSS and server-drawn SVG charts, no script and no network, so the
// report reads offline and with JavaScript disabled. It shows per-column
// drift over time, reference against current distributions for the latest
// window's columns (drifting ones first), estimated (CBPE, with its band)
// against realised accuracy over time, the latest top segments and data
// quality.
//
// Bounds: charts and the history table hold the last MaxWindows windows
// (older ones are dropped with a note); distributions are drawn for at
// most MaxColumns columns.
package report

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/monitor"
)

// Bounds of a report.
const (
	MaxWindows = 500
	MaxColumns = 24
)

// Window is one evaluated window: a time range (Start, End) or, when both
// are zero, a row range (FirstRow, LastRow, 1-based and inclusive).
type Window struct {
	Start, End        time.Time
	FirstRow, LastRow int64
	Report            *monitor.Report
}

// Options label the report.
type Options struct {
	Title     string
	Model     string
	Generated time.Time
	// Older is how many windows before the given ones the caller left out
	// (it read only the latest); the page says so beside those Render
	// drops itself.
	Older int
}

func (w Window) label() string {
	if !w.Start.IsZero() || !w.End.IsZero() {
		return w.Start.UTC().Format("2006-01-02 15:04") + " – " + w.End.UTC().Format("2006-01-02 15:04")
	}
	return fmt.Sprintf("rows %d–%d", w.FirstRow, w.LastRow)
}

// Render writes the report of windows (oldest first) against ref.
func Render(w io.Writer, ref *monitor.Profile, windows []Window, opt Options) error {
	if ref == nil {
		return fmt.Errorf("report: no reference profile")
	}
	if len(windows) == 0 {
		return fmt.Errorf("report: no windows to report")
	}
	for i, win := range windows {
		if win.Report == nil {
			return fmt.Errorf("report: window %d (%s) has no report", i+1, win.label())
		}
	}
	dropped := opt.Older
	if len(windows) > MaxWindows {
		dropped += len(windows) - MaxWindows
		windows = windows[len(windows)-MaxWindows:]
	}
	if opt.Title == "" {
		opt.Title = "dawn monitor report"
	}
	if opt.Generated.IsZero() {
		opt.Generated = time.Now()
	}
	last := windows[len(windows)-1]
	v := view{Options: opt, Generated: opt.Generated.UTC().Format(time.RFC3339), Ref: ref, Dropped: dropped,
		Latest: last.Report, LatestLabel: last.label()}
	for _, win := range windows {
		v.Labels = append(v.Labels, win.label())
	}
	v.Drift = driftCharts(windows)
	v.Dists = distCharts(last.Report)
	v.Perf = perfChart(windows)
	for i := len(windows) - 1; i >= 0; i-- {
		v.History = append(v.History, historyRow{Label: windows[i].label(), R: windows[i].Report})
	}
	return page.Execute(w, v)
}

type view struct {
	Options
	Generated   string
	Ref         *monitor.Profile
	Dropped     int
	Latest      *monitor.Report
	LatestLabel string
	Labels      []string
	Drift       []chart
	Dists       []chart
	Perf        *chart
	History     []historyRow
}

type historyRow struct {
	Label string
	R     *monitor.Report
}

// chart is one drawn SVG with its caption.
type chart struct {
	Title string
	Note  string
	Drift bool
	SVG   template.HTML
}

const (
	cw, ch         = 360.0, 160.0
	padL, padR     = 44.0, 8.0
	padT, padB     = 18.0, 22.0
	plotW, plotH   = cw - padL - padR, ch - padT - padB
	refColour      = "#4e79a7"
	curColour      = "#f28e2b"
	driftColour    = "#d62728"
	estColour      = "#4e79a7"
	actColour      = "#59a14f"
	thresholdColor = "#888"
)

// svg accumulates an SVG drawing; every number it writes is formatted by
// fmt, every text escaped.
type svg struct{ b strings.Builder }

func (s *svg) f(format string, a ...any) { fmt.Fprintf(&s.b, format, a...) }

func (s *svg) html(alt string) template.HTML {
	return template.HTML(fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 %g %g" width="%g" height="%g"><title>%s</title>%s</svg>`,
		cw, ch, cw, ch, template.HTMLEscapeString(alt), s.b.String()))
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// axes draws the frame and y ticks for [lo, hi].
func (s *svg) axes(lo, hi float64, ylabel string) {
	s.f(`<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#ccc"/>`, padL, padT, plotW, plotH)
	for i := 0; i <= 4; i++ {
		y := lo + (hi-lo)*float64(i)/4
		py := padT + plotH - plotH*float64(i)/4
		s.f(`<text x="%g" y="%.1f" font-size="9" text-anchor="end">%s</text>`, padL-3, py+3, esc(tick(y)))
	}
	s.f(`<text x="2" y="10" font-size="9">%s</text>`, esc(ylabel))
}

func tick(x float64) string { return fmt.Sprintf("%.3g", x) }

func xAt(i, n int) float64 {
	if n <= 1 {
		return padL + plotW/2
	}
	return padL + plotW*float64(i)/float64(n-1)
}

func yAt(v, lo, hi float64) float64 {
	if hi == lo {
		return padT + plotH/2
	}
	return padT + plotH - plotH*(v-lo)/(hi-lo)
}

// driftCharts draws, per column (and the prediction), its statistic over
// the windows with the threshold; drifted windows are red points.
func driftCharts(windows []Window) []chart {
	type series struct {
		test      monitor.Test
		vals      []float64
		drift     []bool
		threshold float64
		p         bool
		anyDrift  bool
	}
	byCol := map[string]*series{}
	var order []string
	add := func(i int, c monitor.ColumnResult) {
		s := byCol[c.Column]
		if s == nil {
			s = &series{vals: make([]float64, len(windows)), drift: make([]bool, len(windows))}
			for j := range s.vals {
				s.vals[j] = math.NaN()
			}
			byCol[c.Column] = s
			order = append(order, c.Column)
		}
		s.test, s.threshold = c.Test, c.Threshold
		s.p = c.PValue != nil
		if c.PValue != nil {
			s.vals[i] = *c.PValue
		} else {
			s.vals[i] = c.Statistic
		}
		s.drift[i] = c.Drift
		s.anyDrift = s.anyDrift || (i == len(windows)-1 && c.Drift)
	}
	for i, w := range windows {
		for _, c := range w.Report.Drift.Columns {
			add(i, c)
		}
		if w.Report.Prediction != nil {
			add(i, *w.Report.Prediction)
		}
	}
	var out []chart
	for _, col := range order {
		s := byCol[col]
		lo, hi := 0.0, s.threshold
		for _, v := range s.vals {
			if !math.IsNaN(v) {
				hi = math.Max(hi, v)
			}
		}
		if s.p {
			hi = 1
		}
		if hi == lo {
			hi = lo + 1
		}
		var g svg
		ylabel := string(s.test)
		if s.p {
			ylabel += " p-value"
		}
		g.axes(lo, hi, ylabel)
		ty := yAt(s.threshold, lo, hi)
		g.f(`<line class="threshold" x1="%g" x2="%g" y1="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="4 3"/>`, padL, padL+plotW, ty, ty, thresholdColor)
		var pts []string
		for i, v := range s.vals {
			if !math.IsNaN(v) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", xAt(i, len(windows)), yAt(v, lo, hi)))
			}
		}
		g.f(`<polyline class="series" fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, estColour, strings.Join(pts, " "))
		for i, v := range s.vals {
			if math.IsNaN(v) {
				continue
			}
			colour := estColour
			if s.drift[i] {
				colour = driftColour
			}
			g.f(`<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>%s: %s</title></circle>`, xAt(i, len(windows)), yAt(v, lo, hi), colour, esc(windows[i].label()), esc(tick(v)))
		}
		out = append(out, chart{Title: col, Note: fmt.Sprintf("%s, threshold %s", s.test, tick(s.threshold)), Drift: s.anyDrift, SVG: g.html(col + " drift over time")})
	}
	return out
}

// distCharts draws the latest window's reference and current
// distributions, drifting columns first, at most MaxColumns.
func distCharts(r *monitor.Report) []chart {
	cols := slices.Clone(r.Drift.Columns)
	if r.Prediction != nil {
		cols = append(cols, *r.Prediction)
	}
	slices.SortStableFunc(cols, func(a, b monitor.ColumnResult) int {
		return cmp.Compare(boolInt(b.Drift), boolInt(a.Drift))
	})
	var out []chart
	for _, c := range cols {
		d := c.Distribution
		if d == nil || len(d.Reference) == 0 || len(d.Reference) != len(d.Current) {
			continue
		}
		if len(out) == MaxColumns {
			break
		}
		hi := 0.0
		for i := range d.Reference {
			hi = math.Max(hi, math.Max(d.Reference[i], d.Current[i]))
		}
		if hi == 0 {
			hi = 1
		}
		var g svg
		g.axes(0, hi, "share")
		n := len(d.Reference)
		bw := plotW / float64(n)
		for i := range n {
			name := binName(d, i)
			for k, v := range []float64{d.Reference[i], d.Current[i]} {
				colour, side := refColour, "reference"
				if k == 1 {
					colour, side = curColour, "current"
				}
				h := plotH * v / hi
				g.f(`<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %.3f</title></rect>`,
					side, padL+bw*float64(i)+bw*0.1+bw*0.4*float64(k), padT+plotH-h, bw*0.4, h, colour, esc(name), side, v)
			}
		}
		if d.Edges != nil {
			g.f(`<text x="%g" y="%g" font-size="9">%s</text>`, padL, ch-6, esc(tick(d.Edges[0])))
			g.f(`<text x="%g" y="%g" font-size="9" text-anchor="end">%s</text>`, padL+plotW, ch-6, esc(tick(d.Edges[len(d.Edges)-1])))
		} else {
			for i := range min(n, 8) {
				g.f(`<text x="%.1f" y="%g" font-size="8" text-anchor="middle">%s</text>`, padL+bw*(float64(i)+0.5), ch-6, esc(short(d.Categories[i])))
			}
		}
		out = append(out, chart{Title: c.Column, Note: fmt.Sprintf("%s %s (threshold %s)", c.Test, tick(c.Statistic), tick(c.Threshold)), Drift: c.Drift, SVG: g.html(c.Column + " reference against current")})
	}
	return out
}

func binName(d *monitor.Distribution, i int) string {
	if d.Edges != nil {
		return fmt.Sprintf("[%s, %s)", tick(d.Edges[i]), tick(d.Edges[i+1]))
	}
	return d.Categories[i]
}

func short(s string) string {
	if r := []rune(s); len(r) > 8 {
		return string(r[:7]) + "…"
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// perfChart draws estimated accuracy with its band and realised accuracy
// over the windows (nil when no window has either).
func perfChart(windows []Window) *chart {
	n := len(windows)
	lo, hi := 1.0, 0.0
	any := false
	for _, w := range windows {
		p := w.Report.Performance
		for _, m := range []*monitor.Metric{p.Estimated, p.Actual} {
			if m == nil {
				continue
			}
			any = true
			lo, hi = math.Min(lo, m.Accuracy), math.Max(hi, m.Accuracy)
			if m.Low != nil {
				lo = math.Min(lo, *m.Low)
			}
			if m.High != nil {
				hi = math.Max(hi, *m.High)
			}
		}
	}
	if !any {
		return nil
	}
	lo, hi = math.Max(0, lo-0.02), math.Min(1, hi+0.02)
	var g svg
	g.axes(lo, hi, "accuracy")
	var upper, lower, est, act []string
	for i, w := range windows {
		x := xAt(i, n)
		if e := w.Report.Performance.Estimated; e != nil {
			est = append(est, fmt.Sprintf("%.1f,%.1f", x, yAt(e.Accuracy, lo, hi)))
			if e.Low != nil && e.High != nil {
				upper = append(upper, fmt.Sprintf("%.1f,%.1f", x, yAt(*e.High, lo, hi)))
				lower = append([]string{fmt.Sprintf("%.1f,%.1f", x, yAt(*e.Low, lo, hi))}, lower...)
			}
		}
		if a := w.Report.Performance.Actual; a != nil {
			act = append(act, fmt.Sprintf("%.1f,%.1f", x, yAt(a.Accuracy, lo, hi)))
		}
	}
	if len(upper) > 0 {
		g.f(`<polygon class="band" fill="%s" fill-opacity="0.2" points="%s"/>`, estColour, strings.Join(append(upper, lower...), " "))
	}
	for _, s := range []struct {
		cls, colour string
		pts         []string
	}{{"estimated", estColour, est}, {"actual", actColour, act}} {
		if len(s.pts) == 0 {
			continue
		}
		g.f(`<polyline class="series %s" fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, s.cls, s.colour, strings.Join(s.pts, " "))
		for _, p := range s.pts {
			x, y, _ := strings.Cut(p, ",")
			g.f(`<circle cx="%s" cy="%s" r="2.5" fill="%s"/>`, x, y, s.colour)
		}
	}
	return &chart{Title: "accuracy", Note: "estimated (CBPE, 95% band) and realised", SVG: g.html("estimated and realised accuracy over time")}
}

func attrs(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ", ")
}

func num(x float64) string {
	if x == math.MaxFloat64 || math.IsInf(x, 1) {
		return "∞"
	}
	return fmt.Sprintf("%.4g", x)
}

func pval(p *float64) string {
	if p == nil {
		return "–"
	}
	return fmt.Sprintf("%.4g", *p)
}

func metric(m *monitor.Metric) string {
	if m == nil {
		return "–"
	}
	if m.Low != nil && m.High != nil {
		return fmt.Sprintf("%.3f [%.3f, %.3f]", m.Accuracy, *m.Low, *m.High)
	}
	return fmt.Sprintf("%.3f", m.Accuracy)
}

// WriteFile renders the report into path through a temporary file in the
// same folder renamed into place, so a reader never sees half a report.
func WriteFile(path string, ref *monitor.Profile, windows []Window, opt Options) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	rerr := Render(tmp, ref, windows, opt)
	if err := errors.Join(rerr, tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	return nil
}
