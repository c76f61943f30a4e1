package browsertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/monitor/report"
	"github.com/dawn-ml/dawn/monitor/report/reporttest"
)

// TestMonitorReportInChromium renders a monitor report of three windows
// (the last with a planted {country=CA, version=v3} shift) and opens it in
// Chromium from a file:// URL with every network request refused:
// report.test.js checks the charts are drawn and the tables hold the
// drifting column and the segment, with JavaScript on and off, and saves a
// screenshot next to the console's.
func TestMonitorReportInChromium(t *testing.T) {
	node := requireBrowser(t)
	p, rs := reporttest.Planted(t)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ws := make([]report.Window, len(rs))
	for i, r := range rs {
		ws[i] = report.Window{Start: t0.Add(time.Duration(i) * time.Hour), End: t0.Add(time.Duration(i+1) * time.Hour), Report: r}
	}
	html := filepath.Join(t.TempDir(), "report.html")
	if err := report.WriteFile(html, p, ws, report.Options{Title: "browser-test monitor", Model: "model/"}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, "report.test.js")
	cmd.Env = append(os.Environ(), "REPORT_FILE="+html, "CHROMIUM="+chromiumPath(), "SHOTS_DIR="+shotsDir(t))
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("report.test.js: %v", err)
	}
}
