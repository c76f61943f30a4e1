package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/monitor"
	"github.com/dawn-ml/dawn/monitor/report/reporttest"
)

// windows are reporttest's three planted windows, an hour each from
// 2026-12-01 00:00 UTC, the last with the {country=CA, version=v3} shift.
func windows(t *testing.T) (*monitor.Profile, []Window) {
	p, rs := reporttest.Planted(t)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ws := make([]Window, len(rs))
	for i, r := range rs {
		ws[i] = Window{Start: t0.Add(time.Duration(i) * time.Hour), End: t0.Add(time.Duration(i+1) * time.Hour), Report: r}
	}
	return p, ws
}

func TestRender(t *testing.T) {
	p, ws := windows(t)
	last := ws[2].Report
	if !last.Drift.Columns[0].Drift || len(last.Segments) == 0 {
		t.Fatalf("the planted window should drift with a segment: %+v", last.Drift)
	}
	var b bytes.Buffer
	if err := Render(&b, p, ws, Options{Model: "m", Generated: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	if dir := os.Getenv("DAWN_REPORT_OUT"); dir != "" {
		os.WriteFile(filepath.Join(dir, "report.html"), b.Bytes(), 0o644)
	}
	// Offline: nothing is fetched (the only URL is the SVG namespace).
	for _, u := range regexp.MustCompile(`(?:src|href)=|https?://[^"]*`).FindAllString(html, -1) {
		if u != "http://www.w3.org/2000/svg" {
			t.Errorf("report references %q", u)
		}
	}
	if strings.Contains(html, "<script") {
		t.Error("report holds a script; it must read with JavaScript off")
	}
	count := func(s string) int { return strings.Count(html, s) }
	// x, country, version drift charts; one distribution per column (the
	// drifting x first); one performance section without a model.
	if n := count(`class="chart drift-chart`); n != 3 {
		t.Errorf("%d drift charts, want 3", n)
	}
	if n := count(`class="chart dist-chart`); n != 3 {
		t.Errorf("%d distribution charts, want 3", n)
	}
	if i, j := strings.Index(html, `id="distributions"`), strings.Index(html, `dist-chart drifting"><h3>x<`); j < i {
		t.Errorf("x's distribution is not drawn first among the drifting ones")
	}
	// x's histogram: 20 bins × 2 sides.
	if n := count(`class="bar reference"`) + count(`class="bar current"`); n < 40 {
		t.Errorf("%d bars", n)
	}
	// Three windows, so three points in each drift chart's series.
	if n := count(`<polyline class="series"`); n != 3 {
		t.Errorf("%d series", n)
	}
	for _, want := range []string{
		fmt.Sprintf("no dataset drift (%d of 3 columns drifted", last.Drift.Drifted), "2026-12-01 02:00 – 2026-12-01 03:00",
		fmt.Sprintf("<td>x</td><td>numeric</td><td>%s</td><td>%s</td>", last.Drift.Columns[0].Test, num(last.Drift.Columns[0].Statistic)),
		"<td>" + attrs(last.Segments[0].Attributes) + "</td><td>" + last.Segments[0].Reason + "</td><td>" + num(last.Segments[0].Support) + "</td><td>" + num(last.Segments[0].RiskRatio) + "</td>",
		"No window has an estimated or realised accuracy",
		"Reference: 3000 rows (ref.csv)",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if attrs(last.Segments[0].Attributes) != "country=CA, version=v3" {
		t.Errorf("top segment %v", last.Segments[0].Attributes)
	}
	if n := count("<tr><td>2026-12-01"); n != 3 {
		t.Errorf("%d history rows", n)
	}
}

func TestPerformanceChart(t *testing.T) {
	lo, hi := 0.8, 0.9
	ws := []Window{
		{FirstRow: 1, LastRow: 100, Report: &monitor.Report{Performance: monitor.Performance{Estimated: &monitor.Metric{Accuracy: 0.85, Low: &lo, High: &hi}, Actual: &monitor.Metric{Accuracy: 0.8}}}},
		{FirstRow: 101, LastRow: 200, Report: &monitor.Report{Performance: monitor.Performance{Estimated: &monitor.Metric{Accuracy: 0.85, Low: &lo, High: &hi}}}},
	}
	var b bytes.Buffer
	if err := Render(&b, &monitor.Profile{}, ws, Options{}); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{`class="band"`, `class="series estimated"`, `class="series actual"`, "<td>0.850 [0.800, 0.900]</td><td>0.800</td>", "rows 101–200"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// The y range is [0.78, 0.92]: the band's top (0.9) sits at
	// padT + plotH·(0.92-0.9)/0.14.
	if want := fmt.Sprintf("%.1f,%.1f", xAt(0, 2), padT+plotH*(0.92-0.9)/0.14); !strings.Contains(html, want) {
		t.Errorf("band top point %s not drawn", want)
	}
}

func TestRenderErrors(t *testing.T) {
	var b bytes.Buffer
	for name, c := range map[string]struct {
		p  *monitor.Profile
		ws []Window
	}{
		"no profile": {nil, []Window{{Report: &monitor.Report{}}}},
		"no windows": {&monitor.Profile{}, nil},
		"no report":  {&monitor.Profile{}, []Window{{FirstRow: 1, LastRow: 2}}},
	} {
		if err := Render(&b, c.p, c.ws, Options{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// Windows a caller did not read (Options.Older) and those Render drops
// itself past MaxWindows are both counted in the page's note.
func TestRenderCountsOlderWindows(t *testing.T) {
	p, ws := windows(t)
	for _, tc := range []struct {
		older, n int
		want     string
	}{
		{0, 3, ""},
		{7, 3, "The 7 oldest windows are left out"},
		{7, MaxWindows + 2, "The 9 oldest windows are left out"},
	} {
		in := make([]Window, tc.n)
		for i := range in {
			in[i] = ws[i%3]
		}
		var b bytes.Buffer
		if err := Render(&b, p, in, Options{Generated: time.Unix(0, 0), Older: tc.older}); err != nil {
			t.Fatal(err)
		}
		html := b.String()
		if tc.want == "" && strings.Contains(html, "oldest windows are left out") || tc.want != "" && !strings.Contains(html, tc.want) {
			t.Errorf("older %d, %d windows: want note %q", tc.older, tc.n, tc.want)
		}
	}
}
