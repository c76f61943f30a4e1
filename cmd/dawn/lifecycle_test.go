package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/internal/shareddata"
)

// TestLifecycleScript builds dawn and runs examples/lifecycle/run.sh, the
// README's lifecycle block on the bundled YouTube data (tracking server,
// label run, train, eval, register, serve), and examples/sms/run.sh. Not
// in -short mode: it builds the binary.
func TestLifecycleScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds dawn and starts servers; skipped in -short mode")
	}
	data := shareddata.Require(t, "youtube_spam_uci")
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	bin := filepath.Join(t.TempDir(), "dawn")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, script := range []string{"../../examples/lifecycle/run.sh", "../../examples/sms/run.sh"} {
		cmd := exec.CommandContext(t.Context(), "sh", script, t.TempDir())
		cmd.Env = append(os.Environ(), "DAWN="+bin, "DAWN_DATA="+filepath.Dir(data), "MLFLOW_TRACKING_URI=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
		if !strings.Contains(string(out), "accuracy") {
			t.Errorf("%s printed no scores:\n%s", script, out)
		}
		if strings.Contains(script, "lifecycle") && !strings.Contains(string(out), "registered spam version 1") {
			t.Errorf("%s did not register the model:\n%s", script, out)
		}
	}
}
