package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary act as dawn (DAWN_TEST_MAIN=1), so tests
// can run a command on a real terminal through script(1).
func TestMain(m *testing.M) {
	if os.Getenv("DAWN_TEST_MAIN") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}))
	}
	code := m.Run()
	if dawnBuild.dir != "" {
		os.RemoveAll(dawnBuild.dir)
	}
	os.Exit(code)
}

// onTerminal runs dawn args under script(1), so stderr is a terminal, and
// returns everything it wrote; and the same command through pipes.
func onTerminal(t *testing.T, args ...string) (tty, piped string) {
	t.Helper()
	sc, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) is not installed; needed to give the command a terminal")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	quoted := []string{shellQuote(exe)}
	for _, a := range args {
		quoted = append(quoted, shellQuote(a))
	}
	cmd := exec.Command(sc, "-qec", strings.Join(quoted, " "), "/dev/null")
	cmd.Env = append(os.Environ(), "DAWN_TEST_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	p := exec.Command(exe, args...)
	p.Env = cmd.Env
	pout, err := p.CombinedOutput()
	if err != nil {
		t.Fatalf("piped: %v\n%s", err, pout)
	}
	return string(out), string(pout)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Long commands show a bar on a terminal and nothing in a pipe.
func TestProgressOnTerminalOnly(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("text,label,country,usage\n")
	for i := 0; i < 400; i++ {
		label, text := "ham", "nice song"
		if i%3 == 0 {
			label, text = "spam", "check my channel"
		}
		fmt.Fprintf(&b, "%s %d,%s,%s,%d\n", text, i%7, label, []string{"CAN", "USA"}[i%2], i)
	}
	data := filepath.Join(dir, "d.csv")
	if err := os.WriteFile(data, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// In order: the cascade uses the trained model as its reference.
	for _, c := range []struct {
		bar  string
		args []string
	}{
		{"train: search", []string{"train", "--data", data, "--text", "text", "--target", "label", "--out", filepath.Join(dir, "m-search")}},
		{"train: epochs", []string{"train", "--data", data, "--text", "text", "--target", "label", "--epochs", "5", "--workers", "1", "--out", filepath.Join(dir, "m")}},
		{"cascade build: labeling 400 rows", []string{"cascade", "build", "--reference", filepath.Join(dir, "m"), "--data", data, "--text", "text",
			"--target-accuracy", "0.9", "--out", filepath.Join(dir, "c")}},
		{"predict: ", []string{"predict", "--model", filepath.Join(dir, "m"), "--data", data, "--out", filepath.Join(dir, "p.csv")}},
		{"eval: ", []string{"eval", "--model", filepath.Join(dir, "m"), "--data", data, "--gold", "label"}},
		{"explain: ", []string{"explain", "--data", data, "--outlier", "usage > 350", "--attrs", "country"}},
	} {
		tty, piped := onTerminal(t, c.args...)
		if !strings.Contains(tty, c.bar) {
			t.Errorf("%s on a terminal: no %q bar in\n%q", c.args[0], c.bar, tty)
		}
		if strings.Contains(piped, c.bar) || strings.Contains(piped, "\r") {
			t.Errorf("%s in a pipe: bar drawn:\n%q", c.args[0], piped)
		}
	}
}
