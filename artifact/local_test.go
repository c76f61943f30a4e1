package artifact_test

import (
	"testing"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/artifact/artifacttest"
)

func TestLocal(t *testing.T) {
	repo, err := artifact.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	artifacttest.Run(t, repo, 3<<20)
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{"": "", ".": "", "a/b": "a/b", "a//b/": "a/b", "./a": "a"} {
		if got, err := artifact.CleanPath(in); err != nil || got != want {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"..", "../a", "a/..", "a/../b", "/a", "a\\b", "a\x00"} {
		if _, err := artifact.CleanPath(bad); err == nil {
			t.Errorf("CleanPath(%q) succeeded", bad)
		}
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "a/./b", "//", "a/.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, err := artifact.CleanPath(p)
		if err != nil {
			return
		}
		if c == ".." || len(c) > 0 && c[0] == '/' {
			t.Fatalf("CleanPath(%q) = %q escapes the root", p, c)
		}
		for _, part := range splitSlash(c) {
			if part == ".." {
				t.Fatalf("CleanPath(%q) = %q has ..", p, c)
			}
		}
	})
}

func splitSlash(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '/' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
