package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Local is a Repo in a directory of the local file system.
type Local struct {
	root string
}

var _ Repo = (*Local)(nil)

// NewLocal returns a Repo rooted at dir, creating dir.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("artifact: create root %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("artifact: root %s: %w", dir, err)
	}
	return &Local{root: abs}, nil
}

// Root is the absolute root directory.
func (l *Local) Root() string { return l.root }

func (l *Local) full(p string) (string, error) {
	c, err := CleanPath(p)
	if err != nil {
		return "", fmt.Errorf("artifact: path %q: %w", p, err)
	}
	return filepath.Join(l.root, filepath.FromSlash(c)), nil
}

// Put streams r into a temp file next to p and renames it into place.
func (l *Local) Put(ctx context.Context, p string, r io.Reader) error {
	full, err := l.full(p)
	if err != nil {
		return err
	}
	if full == l.root {
		return fmt.Errorf("artifact: put: empty path: %w", ErrInvalidPath)
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return fmt.Errorf("artifact: put %s: %w", p, err)
	}
	f, err := os.CreateTemp(filepath.Dir(full), ".upload-*")
	if err != nil {
		return fmt.Errorf("artifact: put %s: %w", p, err)
	}
	defer os.Remove(f.Name())
	if _, err := io.Copy(f, ctxReader{ctx, r}); err != nil {
		f.Close()
		return fmt.Errorf("artifact: put %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("artifact: put %s: %w", p, err)
	}
	if err := os.Rename(f.Name(), full); err != nil {
		return fmt.Errorf("artifact: put %s: %w", p, err)
	}
	return nil
}

// ctxReader stops a copy when the request is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

// Open opens a file.
func (l *Local) Open(_ context.Context, p string) (io.ReadCloser, int64, error) {
	full, err := l.full(p)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(full)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("artifact: open %s: %w", p, ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("artifact: open %s: %w", p, err)
	}
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		f.Close()
		return nil, 0, fmt.Errorf("artifact: open %s: not a file: %w", p, ErrNotFound)
	}
	return f, st.Size(), nil
}

// List lists a directory's direct children.
func (l *Local) List(_ context.Context, p string) ([]Entry, error) {
	full, err := l.full(p)
	if err != nil {
		return nil, err
	}
	c, _ := CleanPath(p)
	des, err := os.ReadDir(full)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		// A file is listed as nothing, as MLflow does.
		if st, serr := os.Stat(full); serr == nil && !st.IsDir() {
			return nil, nil
		}
		return nil, fmt.Errorf("artifact: list %s: %w", p, err)
	}
	var out []Entry
	for _, de := range des {
		if len(de.Name()) > 8 && de.Name()[:8] == ".upload-" {
			continue
		}
		rel := de.Name()
		if c != "" {
			rel = c + "/" + rel
		}
		e := Entry{Path: rel, IsDir: de.IsDir()}
		if !de.IsDir() {
			if info, err := de.Info(); err == nil {
				e.Size = info.Size()
			}
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Delete removes a file or directory tree.
func (l *Local) Delete(_ context.Context, p string) error {
	full, err := l.full(p)
	if err != nil {
		return err
	}
	if full == l.root {
		return fmt.Errorf("artifact: delete: refusing to delete the root: %w", ErrInvalidPath)
	}
	if _, err := os.Lstat(full); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("artifact: delete %s: %w", p, ErrNotFound)
	}
	if err := os.RemoveAll(full); err != nil {
		return fmt.Errorf("artifact: delete %s: %w", p, err)
	}
	return nil
}
