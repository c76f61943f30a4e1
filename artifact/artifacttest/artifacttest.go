// Package artifacttest is the conformance suite for artifact.Repo
// implementations.
package artifacttest

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/artifact"
)

// Run checks put, open, list and delete on repo; big is the size of one
// object that must span several upload parts (0 skips it).
func Run(t *testing.T, repo artifact.Repo, big int) {
	ctx := t.Context()
	put := func(p string, b []byte) {
		t.Helper()
		if err := repo.Put(ctx, p, bytes.NewReader(b)); err != nil {
			t.Fatalf("Put %s: %v", p, err)
		}
	}
	read := func(p string) []byte {
		t.Helper()
		rc, size, err := repo.Open(ctx, p)
		if err != nil {
			t.Fatalf("Open %s: %v", p, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil || int64(len(b)) != size {
			t.Fatalf("Open %s: read %d of %d bytes: %v", p, len(b), size, err)
		}
		return b
	}
	put("run/artifacts/model/MLmodel", []byte("flavors: {}\n"))
	put("run/artifacts/model/data/w.bin", []byte("weights"))
	put("run/artifacts/notes.txt", []byte("hello"))
	put("run/artifacts/notes.txt", []byte("hello again"))
	put("run/artifacts/empty", nil)
	if got := string(read("run/artifacts/notes.txt")); got != "hello again" {
		t.Fatalf("overwritten object reads %q", got)
	}
	if got := read("run/artifacts/empty"); len(got) != 0 {
		t.Fatalf("empty object reads %d bytes", len(got))
	}
	entries, err := repo.List(ctx, "run/artifacts")
	if err != nil {
		t.Fatal(err)
	}
	var desc []string
	for _, e := range entries {
		s := e.Path
		if e.IsDir {
			s += "/"
		} else {
			s += "=" + string(rune('0'+e.Size%10))
		}
		desc = append(desc, s)
	}
	if got := strings.Join(desc, " "); got != "run/artifacts/empty=0 run/artifacts/model/ run/artifacts/notes.txt=1" {
		t.Fatalf("List = %s", got)
	}
	if e, err := repo.List(ctx, "nothing/here"); err != nil || len(e) != 0 {
		t.Fatalf("List of a missing dir = %v, %v", e, err)
	}
	if _, _, err := repo.Open(ctx, "run/artifacts/missing"); !errors.Is(err, artifact.ErrNotFound) {
		t.Fatalf("Open missing: %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"../x", "/etc/passwd", "a/../../b", "a\\b"} {
		if err := repo.Put(ctx, bad, strings.NewReader("x")); !errors.Is(err, artifact.ErrInvalidPath) {
			t.Fatalf("Put %q: %v, want ErrInvalidPath", bad, err)
		}
	}
	if big > 0 {
		data := make([]byte, big)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		put("run/artifacts/big.bin", data)
		if !bytes.Equal(read("run/artifacts/big.bin"), data) {
			t.Fatal("multipart object differs after the round trip")
		}
	}
	if err := repo.Delete(ctx, "run/artifacts/model"); err != nil {
		t.Fatal(err)
	}
	if e, _ := repo.List(ctx, "run/artifacts/model"); len(e) != 0 {
		t.Fatalf("directory not deleted: %v", e)
	}
	if err := repo.Delete(ctx, "run/artifacts/notes.txt"); err != nil {
		t.Fatal(err)
	}
	if err := repo.Delete(ctx, "run/artifacts/notes.txt"); !errors.Is(err, artifact.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
}
