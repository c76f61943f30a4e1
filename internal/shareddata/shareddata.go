// Package shareddata finds the project's shared data sets (the YouTube and
// SMS spam collections, Wrench's votes, MacroBase's test cases): $DAWN_DATA,
// or the shared/data folder beside the repository, looked for in every
// directory above the working directory so git worktrees find it too. Tests
// that need a data set call Require, which skips them when it is absent.
package shareddata

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Dir returns $DAWN_DATA, else the nearest shared/data above the working
// directory, else ../shared/data (which may not exist).
func Dir() string {
	if d := os.Getenv("DAWN_DATA"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Join("..", "shared", "data")
	}
	for d := wd; ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "shared", "data")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		if filepath.Dir(d) == d {
			return filepath.Join(wd, "..", "shared", "data")
		}
	}
}

// Require returns Dir()/sub, skipping the test when it does not exist.
func Require(tb testing.TB, sub string) string {
	tb.Helper()
	p := filepath.Join(Dir(), sub)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("shared data %s not found (set DAWN_DATA to the folder holding %s): %v", p, sub, err)
	}
	return p
}

// ReadFile returns the contents of Dir()/sub/rel, gunzipped when rel ends
// in .gz, skipping the test when sub does not exist.
func ReadFile(tb testing.TB, sub, rel string) []byte {
	tb.Helper()
	p := filepath.Join(Require(tb, sub), rel)
	b, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	if strings.HasSuffix(rel, ".gz") {
		z, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		if b, err = io.ReadAll(z); err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
	}
	return b
}
