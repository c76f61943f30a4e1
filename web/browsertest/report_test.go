package browsertest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/monitor"
	"github.com/dawn-ml/dawn/monitor/report"
)

// TestMonitorReportInChromium renders a monitor report of three windows
// (the last with a planted {country=CA, version=v3} shift) and opens it in
// Chromium from a file:// URL with every network request refused:
// report.test.js checks the charts are drawn and the tables hold the
// drifting column and the segment, with JavaScript on and off, and saves a
// screenshot next to the console's.
func TestMonitorReportInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (apt-get install nodejs); skipping the browser tests")
	}
	if _, err := os.Stat(chromiumPath()); err != nil {
		t.Skipf("no chromium at %s (apt-get install chromium); skipping the browser tests", chromiumPath())
	}
	if _, err := os.Stat("node_modules/playwright-core"); err != nil {
		t.Skip("playwright-core is not installed: run `npm ci` in web/browsertest; skipping the browser tests")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	p, err := monitor.BuildProfile(ctx, reportFrame(t, dir, rng, 3000, false), monitor.ProfileOptions{Seed: 1, Source: "ref.csv"})
	if err != nil {
		t.Fatal(err)
	}
	var ws []report.Window
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i, shift := range []bool{false, false, true} {
		r, err := monitor.Check(ctx, p, reportFrame(t, dir, rng, 3000, shift), monitor.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, report.Window{Start: t0.Add(time.Duration(i) * time.Hour), End: t0.Add(time.Duration(i+1) * time.Hour), Report: r})
	}
	html := filepath.Join(dir, "report.html")
	if err := report.WriteFile(html, p, ws, report.Options{Title: "browser-test monitor", Model: "model/"}); err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("DAWN_SCREENSHOTS")
	if shots == "" {
		shots, _ = filepath.Abs("screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, "report.test.js")
	cmd.Env = append(os.Environ(), "REPORT_FILE="+html, "CHROMIUM="+chromiumPath(), "SHOTS_DIR="+shots)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("report.test.js: %v", err)
	}
}

// reportFrame is n rows of (x, country, version); with shift, x moves by +6
// in the rows of country CA running version v3.
func reportFrame(t *testing.T, dir string, rng *rand.Rand, n int, shift bool) *explain.Frame {
	t.Helper()
	var b strings.Builder
	b.WriteString("x,country,version\n")
	countries, versions := []string{"US", "CA", "MX", "FR"}, []string{"v1", "v2", "v3"}
	for range n {
		c, v := countries[rng.IntN(4)], versions[rng.IntN(3)]
		x := rng.NormFloat64()
		if shift && c == "CA" && v == "v3" {
			x += 6
		}
		fmt.Fprintf(&b, "%.4f,%s,%s\n", x, c, v)
	}
	f, err := os.CreateTemp(dir, "w-*.csv")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(b.String())
	f.Close()
	fr, err := explain.ReadFrame(f.Name(), explain.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fr
}
