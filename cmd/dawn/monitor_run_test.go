package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// trainMonitored trains a small model (with its profile) for monitor tests.
func trainMonitored(t *testing.T, dir string) string {
	t.Helper()
	trainCSV, validCSV := filepath.Join(dir, "train.csv"), filepath.Join(dir, "valid.csv")
	monitorRows(t, trainCSV, 2000, 1, false)
	monitorRows(t, validCSV, 800, 2, false)
	mdir := filepath.Join(dir, "model")
	if code, _, stderr := runDawn(t, "train", "--data", trainCSV, "--target", "y", "--numeric", "x", "--valid", validCSV, "--gold", "y", "--out", mdir, "--workers", "1", "--json"); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	return mdir
}

func monitorConfig(t *testing.T, dir, mdir, logDir, hook string) string {
	t.Helper()
	cfg := filepath.Join(dir, "monitor.yaml")
	src := fmt.Sprintf(`name: spam
model: %q
source: {path: %q, poll: 50ms}
window: {rows: 1000}
segments: [country, version]
labels: {column: y}
alerts:
  group_wait: 1ms
  rules:
    - {name: Drift, check: column_drift, column: x}
receivers:
  - name: ops
    webhook: {url: %q, secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}
delivery: {initial_interval: 10ms, max_interval: 50ms, max_attempts: 3, timeout: 30s}
`, mdir, filepath.Join(logDir, "*.csv"), hook)
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestMonitorRunOnce(t *testing.T) {
	dir := t.TempDir()
	mdir := trainMonitored(t, dir)
	logDir := filepath.Join(dir, "log")
	os.MkdirAll(logDir, 0o755)
	monitorRows(t, filepath.Join(logDir, "p-1.csv"), 1000, 3, false)
	monitorRows(t, filepath.Join(logDir, "p-2.csv"), 1500, 4, true)
	var mu sync.Mutex
	var ids []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids = append(ids, r.Header.Get("webhook-id"))
		mu.Unlock()
	}))
	defer srv.Close()
	cfg := monitorConfig(t, dir, mdir, logDir, srv.URL)
	args := []string{"monitor", "run", "--config", cfg, "--data-dir", filepath.Join(dir, "state"), "--once", "--json"}
	code, out, stderr := runDawn(t, args...)
	if code != 0 {
		t.Fatalf("monitor run: %s %s", out, stderr)
	}
	var m map[string]any
	json.Unmarshal([]byte(out), &m)
	if m["windows"] != 2.0 || m["pending_notifications"] != 0.0 {
		t.Fatalf("summary %s (500 rows wait for the next window)", out)
	}
	mu.Lock()
	if len(ids) != 1 {
		t.Errorf("%d webhook requests, want 1", len(ids))
	}
	mu.Unlock()
	// Again: nothing new, nothing re-sent.
	code, out, _ = runDawn(t, args...)
	json.Unmarshal([]byte(out), &m)
	if code != 0 || m["windows"] != 0.0 || m["next_window"] != 2.0 {
		t.Errorf("second run: %s", out)
	}
	mu.Lock()
	if len(ids) != 1 {
		t.Errorf("%d webhook requests after a second run, want still 1", len(ids))
	}
	mu.Unlock()
	// The report of the stored windows.
	html := filepath.Join(dir, "report.html")
	code, out, stderr = runDawn(t, "monitor", "report", "--config", cfg, "--data-dir", filepath.Join(dir, "state"), "--out", html, "--json")
	if code != 0 {
		t.Fatalf("monitor report: %s %s", out, stderr)
	}
	json.Unmarshal([]byte(out), &m)
	if b, err := os.ReadFile(html); err != nil || m["windows"] != 2.0 || !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "rows 1001–2000") {
		t.Errorf("report %s (%v): %s", html, err, out)
	}
	if code, _, stderr := runDawn(t, "monitor", "report", "--config", cfg, "--data-dir", filepath.Join(dir, "empty"), "--out", html); code == 0 || !strings.Contains(stderr, "no evaluated windows") {
		t.Errorf("report of an empty store: %d %s", code, stderr)
	}
	// Usage errors.
	if code, _, stderr := runDawn(t, "monitor", "run"); code != 2 || !strings.Contains(stderr, "--config is required") {
		t.Errorf("no --config: %d %s", code, stderr)
	}
}

// kill -9 of a real `dawn monitor run` after the alert fired (window and
// notification committed) and while it delivers: after a restart the
// notification is delivered, once, with the same id, and no window is
// evaluated twice.
func TestMonitorRunKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds dawn; skipped in -short mode")
	}
	dir := t.TempDir()
	mdir := trainMonitored(t, dir)
	bin := dawnBinary(t)
	logDir := filepath.Join(dir, "log")
	os.MkdirAll(logDir, 0o755)
	monitorRows(t, filepath.Join(logDir, "p-1.csv"), 1000, 3, false)
	monitorRows(t, filepath.Join(logDir, "p-2.csv"), 1000, 4, true)

	var mu sync.Mutex
	var seen []string // webhook-id of each request
	delivered := map[string]int{}
	first := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Header.Get("webhook-id"))
		n := len(seen)
		mu.Unlock()
		if n == 1 {
			close(first)
			<-release // hold the first delivery until the sender is dead
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		delivered[r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	defer srv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	cfg := monitorConfig(t, dir, mdir, logDir, srv.URL)
	state := filepath.Join(dir, "state")
	cmd := exec.Command(bin, "monitor", "run", "--config", cfg, "--data-dir", state)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("no delivery within 2 minutes")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(release)

	run := func() map[string]any {
		out, err := exec.Command(bin, "monitor", "run", "--config", cfg, "--data-dir", state, "--once", "--json").Output()
		if err != nil {
			t.Fatalf("restart: %v", err)
		}
		var m map[string]any
		json.Unmarshal(out, &m)
		return m
	}
	m := run()
	if m["windows"] != 0.0 || m["next_window"] != 2.0 || m["pending_notifications"] != 0.0 {
		t.Errorf("after restart: %v, want no new window, next window 2, nothing pending", m)
	}
	run()
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != seen[1] || delivered[seen[0]] != 1 {
		t.Errorf("requests %v, deliveries %v: want the first attempt cut by the kill and one delivery with the same id", seen, delivered)
	}
}
