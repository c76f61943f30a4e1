package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dawn-ml/dawn/tracking/server"
)

// TestConsoleAuthAndPrefixInChromium runs the server as `dawn server
// --auth --static-prefix /mlflow` does (server.Run with an auth database
// and a prefix) and runs auth.test.js: a READ user sees the pages under the
// prefix without edit controls and is refused a change, the admin sees the
// controls, and a cross-site form POST is refused (CSRF).
func TestConsoleAuthAndPrefixInChromium(t *testing.T) {
	node := requireBrowser(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	addrc, errc := make(chan string, 1), make(chan error, 1)
	go func() {
		errc <- server.Run(ctx, server.Config{Host: "127.0.0.1", Port: "0", BackendStoreURI: filepath.Join(dir, "t.db"),
			ArtifactsDestination: filepath.Join(dir, "artifacts"), AuthDB: filepath.Join(dir, "auth.db"),
			AdminUser: "admin", AdminPassword: "admin-password-1", StaticPrefix: "/mlflow", Version: "browsertest"},
			func(addr string) { addrc <- addr })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatalf("server: %v", err)
	}
	defer func() { cancel(); <-errc }()
	cmd := exec.CommandContext(t.Context(), node, "auth.test.js")
	cmd.Env = append(os.Environ(), "DAWN_ADDR="+addr, "CHROMIUM="+chromiumPath(), "SHOTS_DIR="+shotsDir(t),
		"ADMIN_PASSWORD=admin-password-1")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("auth.test.js: %v", err)
	}
}
