// Package browsertest drives dawn's web console in real Chromium: Debian's
// chromium through playwright-core from npm (never a browser download).
package browsertest

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/server"
	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
)

// chromiumPath is Debian's chromium, or $DAWN_CHROMIUM.
func chromiumPath() string {
	if p := os.Getenv("DAWN_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// TestConsoleInChromium starts a dawn server (REST API and console) on an
// ephemeral port and runs console.test.js against it. Screenshots go to
// $DAWN_SCREENSHOTS (default web/browsertest/screenshots), the folder CI
// keeps as artifacts.
func TestConsoleInChromium(t *testing.T) {
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
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "t.db"), sqlstore.Options{ArtifactRoot: tracking.ProxyScheme})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	repo, err := artifact.NewLocal(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.Handler(store, repo, "browsertest", nil, nil))
	defer srv.Close()
	shots := os.Getenv("DAWN_SCREENSHOTS")
	if shots == "" {
		shots, _ = filepath.Abs("screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, "console.test.js")
	cmd.Env = append(os.Environ(), "DAWN_URL="+srv.URL, "CHROMIUM="+chromiumPath(), "SHOTS_DIR="+shots)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("console.test.js: %v", err)
	}
}
