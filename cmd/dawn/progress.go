package main

import (
	"sort"

	"github.com/schollz/progressbar/v3"
)

// bar reports progress on stderr when it is a terminal and is silent
// otherwise (pipes, tests, CI).
type bar struct {
	set    func(n int64)
	finish func()
}

func newBar(e *env, path, what string) *bar {
	if !isTerminal(e.stderr) {
		return &bar{set: func(int64) {}, finish: func() {}}
	}
	// Rows are streamed, so the total is unknown: show a count and a rate.
	pb := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(what+" "+path),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
	)
	return &bar{
		set:    func(n int64) { pb.Set64(n) },
		finish: func() { pb.Finish() },
	}
}

func sortStrings(s []string) { sort.Strings(s) }
