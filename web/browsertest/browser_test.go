// Package browsertest drives dawn's web console in real Chromium: Debian's
// chromium through playwright-core from npm (never a browser download).
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/label"
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

// requireBrowser skips t unless node, Debian's chromium and playwright-core
// are installed (and not in -short mode); it returns node's path.
func requireBrowser(t *testing.T) string {
	t.Helper()
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
	return node
}

// shotsDir is $DAWN_SCREENSHOTS (default web/browsertest/screenshots), the
// folder CI keeps as artifacts, created if missing.
func shotsDir(t *testing.T) string {
	t.Helper()
	shots := os.Getenv("DAWN_SCREENSHOTS")
	if shots == "" {
		shots, _ = filepath.Abs("screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return shots
}

// TestConsoleInChromium starts a dawn server (REST API and console) on an
// ephemeral port and runs console.test.js against it. Screenshots go to
// $DAWN_SCREENSHOTS (default web/browsertest/screenshots), the folder CI
// keeps as artifacts.
func TestConsoleInChromium(t *testing.T) {
	node := requireBrowser(t)
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
	shots := shotsDir(t)
	expected, err := workbenchExpectation()
	if err != nil {
		t.Fatal(err)
	}
	uncertain := uncertainExpectation(t, dir)
	cmd := exec.CommandContext(t.Context(), node, "console.test.js")
	cmd.Env = append(os.Environ(), "DAWN_URL="+srv.URL, "CHROMIUM="+chromiumPath(), "SHOTS_DIR="+shots,
		"LFS_FILE="+lfsFile, "LFS_EDITED="+lfsEdited, "DATA_FILE=../../label/testdata/comments.csv", "EXPECT_COVERAGE="+expected, "EXPECT_UNCERTAIN="+uncertain)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("console.test.js: %v", err)
	}
}

// lfsFile is label/testdata/lfs.yaml without its lookup LF (the workbench
// refuses lookups); lfsEdited is what the test types into the workbench.
const lfsFile = `labels: [ham, spam]
text: CONTENT
lfs:
  - name: kw_my
    keywords: [my, "check out"]
    label: spam
  - name: re_link
    regex: 'https?://'
    label: spam
  - name: short
    when: 'len(words(CONTENT)) < 4'
    label: ham
  - name: kw_song
    keywords: [song]
    label: ham
`

var lfsEdited = lfsFile + `  - name: kw_fans
    keywords: [fans]
    label: ham
`

// uncertainExpectation is what `dawn label inspect --show uncertain
// --json` prints for the LF file on the sample the workbench reads: the
// dawn binary is built and run, so the page is checked against the command
// itself. Its rows are 1-based.
func uncertainExpectation(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "dawn")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/dawn-ml/dawn/cmd/dawn").CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/dawn: %v\n%s", err, out)
	}
	lfs := filepath.Join(dir, "lfs.yaml")
	if err := os.WriteFile(lfs, []byte(lfsFile), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, "label", "inspect", "--lfs", lfs, "--data", "../../label/testdata/comments.csv",
		"--show", "uncertain", "--limit", "20", "--json")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dawn label inspect: %v\n%s", err, out)
	}
	var got struct {
		Rows []struct {
			Row   int                `json:"row"`
			Probs map[string]float64 `json:"probs"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(out, &got); err != nil || len(got.Rows) == 0 {
		t.Fatalf("dawn label inspect --json: %v: %s", err, out)
	}
	b, _ := json.Marshal(got.Rows)
	return string(b)
}

// workbenchExpectation is each LF's coverage of the edited file on the
// sample as `dawn label apply` + `dawn label analyze` compute it (package
// label's Apply and Analyze), formatted as the page shows it.
func workbenchExpectation() (string, error) {
	f, err := label.ParseFile([]byte(lfsEdited), "lfs.yaml")
	if err != nil {
		return "", err
	}
	rd, err := data.Open("../../label/testdata/comments.csv", data.Options{})
	if err != nil {
		return "", err
	}
	defer rd.Close()
	set, err := label.Compile(f, rd.Schema())
	if err != nil {
		return "", err
	}
	x, err := label.Apply(context.Background(), set, rd, label.ApplyOptions{})
	if err != nil {
		return "", err
	}
	out := map[string]string{}
	for _, s := range label.Analyze(x) {
		out[s.Name] = fmt.Sprintf("%.3f", s.Coverage)
	}
	b, err := json.Marshal(out)
	return string(b), err
}
