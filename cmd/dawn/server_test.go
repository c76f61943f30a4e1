package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServerDB(t *testing.T) {
	uri := "sqlite:///" + filepath.Join(t.TempDir(), "t.db")
	code, out, errs := runDawn(t, "server", "db", "status", "--backend-store-uri", uri)
	if code != 0 || !strings.Contains(out, "pending") || !strings.Contains(out, "00001_init.sql") {
		t.Fatalf("status before upgrade: %d %q %q", code, out, errs)
	}
	code, out, errs = runDawn(t, "server", "db", "upgrade", "--backend-store-uri", uri, "--json")
	var up struct {
		Applied []struct {
			Version int64 `json:"version"`
		} `json:"applied"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &up) != nil || len(up.Applied) < 2 || up.Applied[0].Version != 1 || up.Applied[1].Version != 2 {
		t.Fatalf("upgrade: %d %q %q", code, out, errs)
	}
	code, out, _ = runDawn(t, "server", "db", "upgrade", "--backend-store-uri", uri)
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("second upgrade: %d %q", code, out)
	}
	code, out, _ = runDawn(t, "server", "db", "status", "--backend-store-uri", uri)
	if code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("status after upgrade: %d %q", code, out)
	}
}

func TestServerUsage(t *testing.T) {
	code, _, errs := runDawn(t, "server", "--help")
	if code != 0 || !strings.Contains(errs, "Example:") || !strings.Contains(errs, "dawn server --port 5000") {
		t.Fatalf("help: %d %q", code, errs)
	}
	if code, _, _ := runDawn(t, "server", "--log-format", "xml"); code != 2 {
		t.Fatalf("bad --log-format: exit %d, want 2", code)
	}
	if code, _, errs := runDawn(t, "server", "--mlflow-version", "dev"); code != 2 || !strings.Contains(errs, "PEP 440") {
		t.Fatalf("bad --mlflow-version: exit %d %q, want 2", code, errs)
	}
	for _, arg := range []string{"--graphql-max-root-fields=0", "--graphql-max-aliases=ten"} {
		if code, _, errs := runDawn(t, "server", arg); code != 2 || !strings.Contains(errs, "must be a positive integer") {
			t.Fatalf("%s: exit %d %q, want 2", arg, code, errs)
		}
	}
	if code, _, _ := runDawn(t, "server", "db", "migrate"); code != 2 {
		t.Fatalf("unknown db verb: exit %d, want 2", code)
	}
	if code, _, errs := runDawn(t, "server", "--backend-store-uri", "mysql://x/y", "--port", "0"); code != 1 || !strings.Contains(errs, "unsupported backend store URI") {
		t.Fatalf("mysql URI: exit %d %q", code, errs)
	}
	// The bound's default comes from MLflow's variable, checked as the flag.
	t.Setenv("MLFLOW_SERVER_GRAPHQL_MAX_ALIASES", "-1")
	if code, _, errs := runDawn(t, "server"); code != 2 || !strings.Contains(errs, "--graphql-max-aliases must be a positive integer, got \"-1\"") {
		t.Fatalf("bad MLFLOW_SERVER_GRAPHQL_MAX_ALIASES: exit %d %q, want 2", code, errs)
	}
}

// A taken port fails before the store is created: no tracking.db is left
// behind by a server that never ran.
func TestServerPortTakenCreatesNoStore(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	dir := filepath.Join(t.TempDir(), "dawn-data")
	code, _, errs := runDawn(t, "server", "--port", port, "--data-dir", dir)
	if code == 0 || !strings.Contains(errs, "listen") {
		t.Fatalf("exit %d, stderr %q; want a listen error", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "tracking.db")); err == nil {
		t.Error("tracking.db was created by a server whose port was taken")
	}
}
