package main

import (
	"sort"

	"github.com/dawn-ml/dawn/internal/progress"
)

// newBar shows progress through a file of size bytes (set it to the bytes
// read) on stderr when it is a terminal, and is silent otherwise.
func newBar(e *env, what string, size int64) *progress.Bar {
	return progress.New(e.stderr, size, what)
}

func sortStrings(s []string) { sort.Strings(s) }
