package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/dawn-ml/dawn/internal/progress"
)

// env is what a command may touch of the outside world, so tests can run
// commands in-process with buffers.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command is one `dawn NAME` subcommand. Each lives in its own file and
// registers itself from init, so adding a command touches no shared file.
type command struct {
	name    string
	summary string // one line for `dawn help`
	run     func(ctx context.Context, e *env, args []string) error
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("dawn: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// usageError marks a mistake in how the command was called: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp is returned when --help was asked for: help was printed, exit 0.
var errHelp = flag.ErrHelp

func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		printHelp(e.stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.stderr, "dawn: unknown command %q; run 'dawn help' for the list\n", name)
		return 2
	}
	err := c.run(ctx, e, args[1:])
	code := exitCode(e, err)
	if code != 0 && wantsJSON(args[1:]) {
		// The --json contract holds for failures too: a script reading
		// stdout gets one object naming the error, and the exit status.
		writeJSON(e.stdout, map[string]any{"error": err.Error(), "exit_code": code})
	}
	return code
}

func exitCode(e *env, err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "dawn: %v\n", err)
		return 2
	default:
		fmt.Fprintf(e.stderr, "dawn: %v\n", err)
		return 1
	}
}

// wantsJSON reports whether args ask for --json output (before any "--").
func wantsJSON(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "json" {
			continue
		}
		if !hasVal {
			return true
		}
		if b, err := strconv.ParseBool(val); err == nil {
			return b
		}
		return true // --json=garbage: the flag error itself goes out as JSON
	}
	return false
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `dawn — usable machine learning, from labels to explained production models.

Usage: dawn <command> [subcommand] [flags]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, `
Run 'dawn <command> --help' for a command's flags and an example.
`)
}

// Test hooks: they see every FlagSet a command makes and every group's
// subcommands, so one test can check the naming rules of all commands.
var (
	onNewFlags func(fs *flag.FlagSet, usage string)
	onDispatch func(group string, subs []subcommand)
)

// newFlags makes a FlagSet whose --help prints usage (a synopsis and an
// example) followed by the flags.
func newFlags(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	if onNewFlags != nil {
		defer onNewFlags(fs, usage)
	}
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "%s\n\nFlags:\n", strings.TrimSpace(usage))
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, accepting flags after positional arguments too,
// and turns flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return errHelp
			}
			return &usageError{msg: fs.Name() + ": " + err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return fs.Parse(append([]string{"--"}, rest...))
}

// subcommand is one verb of a command group such as `dawn label apply`.
type subcommand struct {
	name, summary string
	run           func(ctx context.Context, e *env, args []string) error
}

// dispatch runs the subcommand named by args[0] among subs.
func dispatch(ctx context.Context, e *env, group, synopsis string, subs []subcommand, args []string) error {
	help := func(w io.Writer) {
		fmt.Fprintf(w, "%s\n\nSubcommands:\n", strings.TrimSpace(synopsis))
		for _, s := range subs {
			fmt.Fprintf(w, "  %-10s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(w, "\nRun 'dawn %s <subcommand> --help' for flags and an example.\n", group)
	}
	if onDispatch != nil {
		onDispatch(group, subs)
	}
	if len(args) == 0 {
		help(e.stderr)
		return usagef("%s: missing subcommand", group)
	}
	if a := args[0]; a == "help" || a == "-h" || a == "--help" || a == "-help" {
		help(e.stdout)
		return nil
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, e, args[1:])
		}
	}
	return usagef("%s: unknown subcommand %q; run 'dawn %s help'", group, args[0], group)
}

// writeJSON prints v as indented JSON on w, the --json output contract.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool { return progress.IsTerminal(w) }
