package main

import (
	"encoding/json"
	"flag"
	"sort"
	"strings"
	"testing"
)

// cliCommand is one runnable command line prefix ("label run") with the
// FlagSet and usage text it builds.
type cliCommand struct {
	path  []string
	fs    *flag.FlagSet
	usage string
}

// allCommands runs every registered command and subcommand with --help and
// returns what each one registered.
func allCommands(t *testing.T) []cliCommand {
	t.Helper()
	var got []cliCommand
	var fs *flag.FlagSet
	var usage string
	var subs []subcommand
	onNewFlags = func(f *flag.FlagSet, u string) { fs, usage = f, u }
	onDispatch = func(_ string, s []subcommand) { subs = s }
	defer func() { onNewFlags, onDispatch = nil, nil }()
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	probe := func(path ...string) {
		fs, usage, subs = nil, "", nil
		code, _, stderr := runDawn(t, append(path, "--help")...)
		if code != 0 {
			t.Errorf("dawn %s --help: exit %d: %s", strings.Join(path, " "), code, stderr)
		}
	}
	// walk probes path and, when it is a group, each of its subcommands
	// (groups nest: models alias set).
	var walk func(path []string)
	walk = func(path []string) {
		probe(path...)
		if fs == nil && subs != nil { // a group (a leaf builds a FlagSet)
			group := subs
			for _, s := range group {
				walk(append(append([]string{}, path...), s.name))
			}
			return
		}
		if fs == nil {
			t.Errorf("dawn %s: no FlagSet", strings.Join(path, " "))
			return
		}
		got = append(got, cliCommand{path: path, fs: fs, usage: usage})
	}
	for _, n := range names {
		if n == "help" {
			continue
		}
		walk([]string{n})
	}
	if len(got) < 15 {
		t.Fatalf("found only %d commands", len(got))
	}
	return got
}

// Under --json a failure prints {"error": ...} on stdout, for every command.
func TestJSONErrorsOnEveryCommand(t *testing.T) {
	for _, c := range allCommands(t) {
		if c.fs.Lookup("json") == nil {
			continue // TestFlagNamingRules reports it
		}
		name := strings.Join(c.path, " ")
		// A flag error (exit 2) and, where the command reads a model or
		// data, a missing file (exit 1 or 2).
		for _, extra := range [][]string{{"--no-such-flag"}, {"--data", "/nonexistent/x.csv", "--model", "/nonexistent/m"}} {
			args := append(append(append([]string{}, c.path...), "--json"), extra...)
			if extra[0] == "--data" && (c.fs.Lookup("data") == nil || c.fs.Lookup("model") == nil) {
				continue
			}
			code, stdout, _ := runDawn(t, args...)
			if code == 0 {
				t.Errorf("dawn %s: exit 0 for %v", name, extra)
				continue
			}
			var obj struct {
				Error    string `json:"error"`
				ExitCode int    `json:"exit_code"`
			}
			if err := json.Unmarshal([]byte(stdout), &obj); err != nil || obj.Error == "" || obj.ExitCode != code {
				t.Errorf("dawn %s %v: stdout %q is not {\"error\": ..., \"exit_code\": %d} (%v)", name, extra, stdout, code, err)
			}
		}
	}
}

func TestWantsJSON(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"--json"}, true}, {[]string{"-json"}, true}, {[]string{"--data", "x", "--json=true"}, true},
		{[]string{"--json=false"}, false}, {[]string{"--", "--json"}, false}, {[]string{"json"}, false},
		{[]string{"--jsonl"}, false}, {nil, false},
	} {
		if got := wantsJSON(c.args); got != c.want {
			t.Errorf("wantsJSON(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}

// The naming rules of issue 16: one name for one thing in every command.
func TestFlagNamingRules(t *testing.T) {
	deprecated := map[string]string{"threads": "workers", "concurrency": "workers", "eval": "valid"}
	defaults := map[string]string{}
	for _, c := range allCommands(t) {
		name := "dawn " + strings.Join(c.path, " ")
		if c.fs.Lookup("json") == nil {
			t.Errorf("%s: no --json", name)
		}
		if !strings.Contains(c.usage, "Example") {
			t.Errorf("%s: --help has no example", name)
		}
		c.fs.VisitAll(func(f *flag.Flag) {
			alias := strings.HasPrefix(f.Usage, "deprecated: use --")
			if to, bad := deprecated[f.Name]; bad && !alias {
				t.Errorf("%s: --%s is a primary name; use --%s (keep --%s as a deprecated alias)", name, f.Name, to, f.Name)
			}
			if alias && c.fs.Lookup(strings.TrimPrefix(f.Usage, "deprecated: use --")) == nil {
				t.Errorf("%s: --%s aliases a flag that does not exist", name, f.Name)
			}
			switch f.Name {
			case "seed", "tie-break":
				if d, ok := defaults[f.Name]; ok && d != f.DefValue {
					t.Errorf("%s: --%s defaults to %q, elsewhere %q", name, f.Name, f.DefValue, d)
				}
				defaults[f.Name] = f.DefValue
			}
		})
		if c.fs.Lookup("data") != nil {
			for _, d := range []string{"format", "type", "delimiter"} {
				if c.fs.Lookup(d) == nil {
					t.Errorf("%s reads --data but has no --%s", name, d)
				}
			}
		}
	}
	if defaults["seed"] != "1" || defaults["tie-break"] != "random" {
		t.Errorf("defaults %v", defaults)
	}
	// In train --model was the model kind; it is now --kind (and --model,
	// a directory everywhere else, a deprecated alias that warns).
	for _, c := range allCommands(t) {
		if c.path[0] == "train" {
			if f := c.fs.Lookup("model"); f == nil || !strings.HasPrefix(f.Usage, "deprecated") || c.fs.Lookup("kind") == nil {
				t.Errorf("train: want --kind and a deprecated --model")
			}
		}
	}
}

// A deprecated alias still works, and says so on stderr.
func TestDeprecatedAliasWarns(t *testing.T) {
	var warn strings.Builder
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	n := fs.Int("workers", 0, "workers")
	deprecatedAlias(fs, &warn, "threads", "workers")
	if err := fs.Parse([]string{"--threads", "3"}); err != nil {
		t.Fatal(err)
	}
	if *n != 3 || !strings.Contains(warn.String(), "--threads is deprecated; use --workers") {
		t.Errorf("workers %d, warning %q", *n, warn.String())
	}
}
