package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dawn-ml/dawn/artifact/s3"
	"github.com/dawn-ml/dawn/artifact/s3/s3test"
	"github.com/dawn-ml/dawn/explain/stream"
	"github.com/dawn-ml/dawn/monitor/runner"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/server"
)

// dawnBuild is the dawn binary the process tests share, built once per
// test run into dir (removed by TestMain).
var dawnBuild struct {
	once      sync.Once
	dir, path string
	err       error
}

// dawnBinary builds cmd/dawn (CGO off) once and returns its path.
func dawnBinary(t *testing.T) string {
	t.Helper()
	dawnBuild.once.Do(func() {
		if dawnBuild.dir, dawnBuild.err = os.MkdirTemp("", "dawn-bin-"); dawnBuild.err != nil {
			return
		}
		dawnBuild.path = filepath.Join(dawnBuild.dir, "dawn")
		build := exec.Command("go", "build", "-o", dawnBuild.path, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			dawnBuild.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if dawnBuild.err != nil {
		t.Fatal(dawnBuild.err)
	}
	return dawnBuild.path
}

// monitorRunProc runs the dawn binary's `monitor run --once --json` with
// env added and returns its summary.
func monitorRunProc(t *testing.T, bin, cfg, state string, env ...string) map[string]any {
	t.Helper()
	cmd := exec.Command(bin, "monitor", "run", "--config", cfg, "--data-dir", state, "--once", "--json")
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dawn monitor run: %v\n%s%s", err, out, stderr.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("summary %q: %v\n%s", out, err, stderr.String())
	}
	return m
}

// sourceConfig writes a monitor file over source (YAML flow mapping).
func sourceConfig(t *testing.T, dir, mdir, source string) string {
	t.Helper()
	cfg := filepath.Join(dir, "monitor.yaml")
	src := fmt.Sprintf("name: src\nmodel: %q\nsource: %s\nwindow: {rows: 1000}\nsegments: [country, version]\nlabels: {column: y}\n", mdir, source)
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// checkPlanted reads the stored windows: the shifted window (index
// shifted, all its rows after the change) shows x drifting and
// {country=CA, version=v3} as its top segment; the clean windows before
// the change show neither (a window between holds rows of both).
func checkPlanted(t *testing.T, state string, windows, clean, shifted int) {
	t.Helper()
	st, err := server.OpenStore(t.Context(), (&storeFlags{dataDir: state}).uri(), tracking.ProxyScheme)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := runner.History(context.Background(), st.(tracking.MonitorStore), "src", 0)
	if err != nil || len(h.Windows) != windows {
		t.Fatalf("%d stored windows (%v), want %d", len(h.Windows), err, windows)
	}
	for i, w := range h.Windows {
		if w.Index != int64(i) || w.Rows != 1000 {
			t.Errorf("window %d: index %d, %d rows; want 1000", i, w.Index, w.Rows)
		}
		xDrift := false
		for _, c := range w.Report.Drift.Columns {
			if c.Column == "x" {
				xDrift = c.Drift
			}
		}
		var top map[string]string
		if len(w.Report.Segments) > 0 {
			top = w.Report.Segments[0].Attributes
		}
		planted := len(top) == 2 && top["country"] == "CA" && top["version"] == "v3"
		if i == shifted && (!xDrift || !planted) {
			t.Errorf("window %d (shifted): x drift %v, top segment %v; want drift and {country=CA, version=v3}", i, xDrift, top)
		}
		if i < clean && (xDrift || planted) {
			t.Errorf("window %d (before the shift): x drift %v, top segment %v", i, xDrift, top)
		}
	}
}

// The dawn binary on an s3:// source (versitygw, as the artifact/s3
// tests start it): windows cross objects, a restart resumes inside a
// half-used object, and the planted drift and segment are reported in
// the shifted window.
func TestMonitorRunS3Source(t *testing.T) {
	if testing.Short() {
		t.Skip("builds dawn and starts versitygw; skipped in -short mode")
	}
	endpoint := s3test.Start(t) // skips, naming the install command, without versitygw
	s3test.CreateBucket(t, endpoint, "logs")
	dir := t.TempDir()
	mdir := trainMonitored(t, dir)
	bin := dawnBinary(t)
	repo, err := s3.Open(t.Context(), "s3://logs/spam", s3test.Options(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	put := func(name string, n int, seed uint64, shift bool) {
		t.Helper()
		local := filepath.Join(dir, name)
		monitorRows(t, local, n, seed, shift)
		f, err := os.Open(local)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := repo.Put(t.Context(), name, f); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"AWS_ENDPOINT_URL_S3=" + endpoint, "AWS_ACCESS_KEY_ID=" + s3test.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s3test.SecretKey, "AWS_REGION=us-east-1"}
	cfg := sourceConfig(t, dir, mdir, `{path: "s3://logs/spam", poll: 50ms}`)
	state := filepath.Join(dir, "state")
	put("p-1.csv", 2500, 3, false)
	m := monitorRunProc(t, bin, cfg, state, env...)
	if m["windows"] != 2.0 || m["position"] != `{"file":"s3://logs/spam/p-1.csv","row":2000}` {
		t.Fatalf("first run: %v, want 2 windows and 500 rows of p-1.csv left", m)
	}
	// The shifted object: window 2 is p-1's last 500 rows and p-2's first
	// 500; window 3 is p-2's shifted rest.
	put("p-2.csv", 1500, 4, true)
	m = monitorRunProc(t, bin, cfg, state, env...)
	if m["windows"] != 2.0 || m["next_window"] != 4.0 || m["position"] != `{"file":"s3://logs/spam/p-2.csv","row":1500}` {
		t.Fatalf("after the restart: %v, want 2 more windows, next window 4, at the end of p-2.csv", m)
	}
	if m := monitorRunProc(t, bin, cfg, state, env...); m["windows"] != 0.0 || m["next_window"] != 4.0 {
		t.Errorf("third run: %v, want nothing new", m)
	}
	checkPlanted(t, state, 4, 2, 3)
}

// The dawn binary on a NATS JetStream subject (the embedded server the
// runner's tests use, on a loopback port): a restart consumes from just
// after the committed window, and the planted drift and segment are
// reported in the shifted window.
func TestMonitorRunNATSSource(t *testing.T) {
	if testing.Short() {
		t.Skip("builds dawn; skipped in -short mode")
	}
	srv, url, err := stream.StartEmbedded(0, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "PRED", Subjects: []string{"pred.spam"}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mdir := trainMonitored(t, dir)
	bin := dawnBinary(t)
	publish := func(n int, seed uint64, shift bool) {
		t.Helper()
		local := filepath.Join(dir, fmt.Sprintf("rows-%d.csv", seed))
		monitorRows(t, local, n, seed, shift)
		b, _ := os.ReadFile(local)
		for _, ln := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] { // x,country,version,y
			f := strings.Split(ln, ",")
			msg := fmt.Sprintf(`{"x": %s, "country": %q, "version": %q, "y": %q}`, f[0], f[1], f[2], f[3])
			if _, err := js.Publish(t.Context(), "pred.spam", []byte(msg)); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg := sourceConfig(t, dir, mdir, fmt.Sprintf(`{path: %q, subject: pred.spam}`, url))
	state := filepath.Join(dir, "state")
	publish(1500, 3, false)
	m := monitorRunProc(t, bin, cfg, state)
	if m["windows"] != 1.0 || m["position"] != `{"file":"pred.spam","row":1000}` {
		t.Fatalf("first run: %v, want 1 window ending at sequence 1000", m)
	}
	// The 500 rows read but not in a window come again after the restart.
	publish(1500, 4, true)
	m = monitorRunProc(t, bin, cfg, state)
	if m["windows"] != 2.0 || m["next_window"] != 3.0 || m["position"] != `{"file":"pred.spam","row":3000}` {
		t.Fatalf("after the restart: %v, want 2 more windows, to sequence 3000", m)
	}
	if m := monitorRunProc(t, bin, cfg, state); m["windows"] != 0.0 || m["next_window"] != 3.0 {
		t.Errorf("third run: %v, want nothing new", m)
	}
	checkPlanted(t, state, 3, 1, 2)
	cons, err := js.Consumer(t.Context(), "PRED", "dawn-monitor-src")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := cons.Info(t.Context()); err != nil || info.AckFloor.Stream != 3000 {
		t.Errorf("consumer ack floor %d (%v), want 3000", info.AckFloor.Stream, err)
	}
}
