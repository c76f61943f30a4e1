package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/internal/youtube"
)

// readmeBlocks returns the dawn command lines of each ```sh block of the
// README, comments and a trailing & dropped.
func readmeBlocks(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
			blocks = append(blocks, nil)
		case strings.HasPrefix(line, "```"):
			in = false
		case in:
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			line = strings.TrimSuffix(strings.TrimSpace(line), "&")
			if strings.HasPrefix(line, "dawn ") {
				blocks[len(blocks)-1] = append(blocks[len(blocks)-1], strings.TrimSpace(line))
			}
		}
	}
	return blocks
}

// shellWords splits a command line on blanks, keeping 'quoted' words.
func shellWords(s string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`'[^']*'|\S+`).FindAllString(s, -1) {
		out = append(out, strings.Trim(m, "'"))
	}
	return out
}

// commandOf is a line's command path (label run, train) and flag names.
func commandOf(words []string, hasSubs map[string]bool) (cmd string, flags []string) {
	cmd = words[1]
	if len(words) > 2 && !strings.HasPrefix(words[2], "-") && hasSubs[words[1]] {
		cmd += " " + words[2]
	}
	for _, w := range words {
		if strings.HasPrefix(w, "--") {
			name, _, _ := strings.Cut(w, "=")
			flags = append(flags, name)
		}
	}
	return cmd, flags
}

// TestREADMEBlocks: every README command block runs. The data-programming
// block runs as written in the folder dawn quickstart fills; the lifecycle
// block (servers on fixed ports) is run by examples/lifecycle/run.sh
// (TestLifecycleScript), so each of its commands must be there with the
// same flags. A new block needs a runner here.
func TestREADMEBlocks(t *testing.T) {
	blocks := readmeBlocks(t)
	scriptPath, err := filepath.Abs("../../examples/lifecycle/run.sh")
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for i, block := range blocks {
		switch {
		case len(block) == 0: // go run / go test lines only
		case strings.HasPrefix(block[0], "dawn label apply"):
			ran++
			if _, err := os.Stat(youtube.Dir()); err != nil {
				t.Logf("YouTube data not found at %s (set DAWN_DATA): data-programming block not run", youtube.Dir())
				continue
			}
			dir := t.TempDir()
			if code, _, errs := runDawn(t, "quickstart", "--dir", dir); code != 0 {
				t.Fatalf("quickstart: %s", errs)
			}
			t.Chdir(dir) // restored before dir is removed (cleanups run last first)
			for _, line := range block {
				if code, _, errs := runDawn(t, shellWords(line)[1:]...); code != 0 {
					t.Errorf("README block %d: %s: exit %d: %s", i+1, line, code, errs)
				}
			}
		case strings.HasPrefix(block[0], "dawn server"):
			ran++
			script, err := os.ReadFile(scriptPath)
			if err != nil {
				t.Fatal(err)
			}
			hasSubs := map[string]bool{}
			for _, c := range allCommands(t) {
				hasSubs[c.path[0]] = hasSubs[c.path[0]] || len(c.path) > 1
			}
			steps := strings.Split(strings.ReplaceAll(string(script), "\\\n", " "), "\n")
			for _, line := range block {
				cmd, flags := commandOf(shellWords(line), hasSubs)
				found := false
				for _, st := range steps {
					if !strings.Contains(st, `"$DAWN" `+cmd+" ") {
						continue
					}
					missing := false
					for _, f := range flags {
						if !strings.Contains(st, f+" ") && !strings.HasSuffix(st, f) {
							missing = true
						}
					}
					found = found || !missing
				}
				if !found {
					t.Errorf("README block %d: %q is not run by examples/lifecycle/run.sh with flags %v", i+1, line, flags)
				}
			}
		default:
			t.Errorf("README block %d (%s): no test runs it; add a runner to TestREADMEBlocks", i+1, block[0])
		}
	}
	if ran != 2 {
		t.Errorf("found %d of the 2 known README command blocks", ran)
	}
}
