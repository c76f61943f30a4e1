package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/monitor/runner"
	"github.com/dawn-ml/dawn/serve"
	"github.com/dawn-ml/dawn/serve/predlog"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/server"
)

// A served model whose requests carry client_version (not in its
// signature): the prediction log keeps it as a context column, and when
// one version's inputs are corrupted, dawn monitor run names
// client_version=v3 as the top segment of the first window after the
// change, and of no window before it.
func TestMonitorRunNamesCorruptedClientVersion(t *testing.T) {
	dir := t.TempDir()
	mdir := trainMonitored(t, dir)
	m, err := model.Load(mdir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range m.Info().Inputs {
		if c.Name == "client_version" {
			t.Fatal("client_version is in the signature: the test needs it as context")
		}
	}
	logDir := filepath.Join(dir, "log")
	pl, err := predlog.New(predlog.Options{Dir: logDir, FlushRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := serve.New(m, "1", serve.Options{Log: pl})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	rng := rand.New(rand.NewPCG(7, 7))
	// 2 windows of 1,000 rows: requests of 20 rows from one client each;
	// in the second, version v3 sends x + 3 (a broken feature pipeline).
	for w := range 2 {
		for range 50 {
			v := []string{"v1", "v2", "v3"}[rng.IntN(3)]
			var rows []string
			for range 20 {
				x := rng.NormFloat64()
				if w == 1 && v == "v3" {
					x += 3
				}
				rows = append(rows, fmt.Sprintf(`[%.4f, %q]`, x, v))
			}
			body := `{"dataframe_split": {"columns": ["x", "client_version"], "data": [` + strings.Join(rows, ",") + `]}}`
			resp, err := http.Post(hs.URL+"/invocations", "application/json", strings.NewReader(body))
			if err != nil || resp.StatusCode != 200 {
				t.Fatal(err, resp.StatusCode)
			}
			resp.Body.Close()
		}
	}
	hs.Close()
	s.Close()
	if err := pl.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "monitor.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("name: ctx\nmodel: %q\nsource: {path: %q}\nwindow: {rows: 1000}\nsegments: [client_version]\n", mdir, logDir)), 0o644)
	state := filepath.Join(dir, "state")
	if code, out, stderr := runDawn(t, "monitor", "run", "--config", cfg, "--data-dir", state, "--once", "--json"); code != 0 {
		t.Fatalf("monitor run: %s %s", out, stderr)
	}
	st, err := server.OpenStore(t.Context(), (&storeFlags{dataDir: state}).uri(), tracking.ProxyScheme)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := runner.History(context.Background(), st.(tracking.MonitorStore), "ctx", 0)
	if err != nil || len(h.Windows) != 2 {
		t.Fatalf("%+v, %v: want 2 windows", h, err)
	}
	ws := h.Windows
	for _, seg := range ws[0].Report.Segments {
		if seg.Attributes["client_version"] == "v3" {
			t.Errorf("window 0 (before the change) names v3: %+v", seg)
		}
	}
	segs := ws[1].Report.Segments
	if len(segs) == 0 || len(segs[0].Attributes) != 1 || segs[0].Attributes["client_version"] != "v3" {
		t.Fatalf("window 1's top segments %+v: want client_version=v3", segs)
	}
	if segs[0].RiskRatio < 2 {
		t.Errorf("risk ratio %g", segs[0].RiskRatio)
	}
}
