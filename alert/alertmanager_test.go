package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestRealAlertmanager posts a drift alert to Debian's
// prometheus-alertmanager on a loopback port and reads it back from
// GET /api/v2/alerts; it skips when the binary is not installed.
func TestRealAlertmanager(t *testing.T) {
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		t.Skip("prometheus-alertmanager not installed (apt-get install prometheus-alertmanager)")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "am.yml")
	os.WriteFile(cfg, []byte("route:\n  receiver: none\nreceivers:\n  - name: none\n"), 0o644)
	port := freePort(t)
	clusterPort := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfg, "--storage.path="+dir,
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), fmt.Sprintf("--cluster.listen-address=127.0.0.1:%d", clusterPort))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	a := drift("spam", "CONTENT")
	a.StartsAt = time.Now().Add(-time.Minute)
	if err := PostAlertmanager(context.Background(), nil, base, []Alert{a}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(base + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []struct {
		Labels      map[string]string
		Fingerprint string
	}
	json.NewDecoder(resp.Body).Decode(&got)
	if len(got) != 1 || got[0].Labels["column"] != "CONTENT" {
		t.Fatalf("alertmanager holds %+v", got)
	}
	// A bad alert (no labels) is the caller's mistake: an error, not a panic.
	if err := PostAlertmanager(context.Background(), nil, base, []Alert{{}}); err == nil {
		t.Error("alert without labels accepted")
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
