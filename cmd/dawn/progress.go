package main

import (
	"sort"

	"github.com/dawn-ml/dawn/internal/progress"
)

// newBar counts rows on stderr when it is a terminal (rows are streamed, so
// the total is unknown) and is silent otherwise.
func newBar(e *env, path, what string) *progress.Bar {
	return progress.New(e.stderr, 0, what+" "+path)
}

func sortStrings(s []string) { sort.Strings(s) }
