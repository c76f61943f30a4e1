package artifact_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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

func TestLocalConfinedAndCleaned(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	os.MkdirAll(filepath.Join(dir, "r", "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "r", "sub", ".upload-1234"), []byte("partial"), 0o644)
	os.WriteFile(filepath.Join(dir, "r", "keep"), []byte("k"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "r", "out"))
	os.Symlink("keep", filepath.Join(dir, "r", "inlink"))
	repo, err := artifact.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "r", "sub", ".upload-1234")); err == nil {
		t.Errorf("stale upload left in place")
	}
	ctx := t.Context()
	if _, _, err := repo.Open(ctx, "r/out/secret"); !errors.Is(err, artifact.ErrInvalidPath) {
		t.Errorf("open through an escaping link: %v", err)
	}
	if err := repo.Put(ctx, "r/out/new", strings.NewReader("x")); !errors.Is(err, artifact.ErrInvalidPath) {
		t.Errorf("put through an escaping link: %v", err)
	}
	if err := repo.Delete(ctx, "r/out/secret"); !errors.Is(err, artifact.ErrInvalidPath) {
		t.Errorf("delete through an escaping link: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "secret")); err != nil {
		t.Errorf("file outside removed: %v", err)
	}
	// A link that stays inside is followed.
	rc, _, err := repo.Open(ctx, "r/inlink")
	if err != nil {
		t.Fatalf("inside link: %v", err)
	}
	rc.Close()
	if err := repo.Put(ctx, "r/keep/below", strings.NewReader("x")); !errors.Is(err, artifact.ErrInvalidPath) {
		t.Errorf("put below a file: %v", err)
	}
	if err := repo.Put(ctx, "r/"+strings.Repeat("n", 300), strings.NewReader("x")); !errors.Is(err, artifact.ErrInvalidPath) {
		t.Errorf("put of a 300-character name: %v", err)
	}
	// Deleting the escaping link removes the link only.
	if err := repo.Delete(ctx, "r/out"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(outside, "secret")); err != nil {
		t.Errorf("deleting a link removed its target: %v", err)
	}
	// OpenLocal creates nothing.
	missing := filepath.Join(t.TempDir(), "not", "there")
	l, _ := artifact.OpenLocal(missing)
	if es, err := l.List(ctx, ""); err != nil || len(es) != 0 {
		t.Errorf("list of a missing root: %v %v", es, err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("OpenLocal made %s", missing)
	}
}
