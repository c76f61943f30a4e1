package progress

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNotATerminal: on a buffer, a pipe or a regular file the bar is a
// no-op that writes nothing, and its reader passes bytes through unchanged.
func TestNotATerminal(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	for name, w := range map[string]io.Writer{"buffer": &buf, "pipe": pw, "file": f} {
		t.Run(name, func(t *testing.T) {
			if IsTerminal(w) {
				t.Fatal("IsTerminal = true")
			}
			b := New(w, 100, "work")
			if b.Active() {
				t.Fatal("bar is active")
			}
			b.Add(10)
			b.Set(50)
			in := strings.NewReader("hello")
			r := b.Reader(in)
			if r != io.Reader(in) {
				t.Error("no-op bar wrapped the reader")
			}
			b.Finish()
			b.Finish()
		})
	}
	if buf.Len() != 0 {
		t.Errorf("no-op bar wrote %q", buf.String())
	}
	if st, _ := f.Stat(); st.Size() != 0 {
		t.Errorf("no-op bar wrote %d bytes to a file", st.Size())
	}
	var nilBar *Bar
	nilBar.Add(1)
	nilBar.Set(1)
	nilBar.Finish()
	if nilBar.Reader(strings.NewReader("x")) == nil {
		t.Error("nil bar Reader returned nil")
	}
}

// TestDrawing drives a real bar (as on a terminal) into a buffer: Set moves
// it and the byte reader counts every byte read through it.
func TestDrawing(t *testing.T) {
	var buf bytes.Buffer
	b := newBar(&buf, 20, "reading")
	if !b.Active() {
		t.Fatal("bar not active")
	}
	b.Set(3)
	if n := b.pb.State().CurrentNum; n != 3 {
		t.Errorf("bar at %d after Set(3)", n)
	}
	got, err := io.ReadAll(b.Reader(strings.NewReader("hello world")))
	if err != nil || string(got) != "hello world" {
		t.Fatalf("read %q, %v", got, err)
	}
	if n := b.pb.State().CurrentNum; n != 14 {
		t.Errorf("bar at %d after reading 11 more bytes, want 14", n)
	}
	b.Finish()
	if !b.pb.IsFinished() {
		t.Error("bar not finished")
	}
}

func TestFileSize(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("12345"), 0o644)
	if n := FileSize(p); n != 5 {
		t.Errorf("FileSize = %d, want 5", n)
	}
	if n := FileSize(filepath.Join(t.TempDir(), "missing")); n != 0 {
		t.Errorf("FileSize of a missing file = %d, want 0", n)
	}
}
