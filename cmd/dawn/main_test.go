package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runDawn runs a dawn command in-process and returns its exit code, stdout
// and stderr.
func runDawn(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}
