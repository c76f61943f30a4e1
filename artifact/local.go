package artifact

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Local is a Repo in a directory of the local file system. Every access
// goes through an os.Root, so neither ".." nor a symbolic link inside the
// directory can reach a file outside it.
type Local struct {
	root string
}

var _ Repo = (*Local)(nil)

// uploadPrefix names the temp files of uploads in progress; they are never
// listed, served or accepted as a client's path.
const uploadPrefix = ".upload-"

// NewLocal returns a Repo rooted at dir, creating dir, and removes the
// temp files that uploads cut short (a crash, kill -9) left there. One
// server owns a root: a second one's uploads in progress would be removed.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("artifact: create root %s: %w", dir, err)
	}
	l, err := OpenLocal(dir)
	if err != nil {
		return nil, err
	}
	if err := l.removeStaleUploads(); err != nil {
		return nil, err
	}
	return l, nil
}

// OpenLocal returns a Repo over the existing directory dir, or over
// nothing (every path missing) when dir does not exist. It creates
// nothing, so it may be pointed at a client-supplied location.
func OpenLocal(dir string) (*Local, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("artifact: root %s: %w", dir, err)
	}
	return &Local{root: abs}, nil
}

// Root is the absolute root directory.
func (l *Local) Root() string { return l.root }

// open opens the root; a missing root is ErrNotFound.
func (l *Local) open() (*os.Root, error) {
	r, err := os.OpenRoot(l.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("artifact: root %s: %w", l.root, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("artifact: root %s: %w", l.root, err)
	}
	return r, nil
}

// rel cleans a client path into a name inside the root ("." for the root).
func rel(p string) (string, error) {
	c, err := CleanPath(p)
	if err != nil {
		return "", fmt.Errorf("artifact: path %q: %w", p, err)
	}
	for _, part := range strings.Split(c, "/") {
		if strings.HasPrefix(part, uploadPrefix) {
			return "", fmt.Errorf("artifact: path %q: names an upload in progress: %w", p, ErrInvalidPath)
		}
	}
	if c == "" {
		return ".", nil
	}
	return filepath.FromSlash(c), nil
}

// clientError maps what a client's path caused (a file where a directory
// is needed, a name too long, an escape through a link) to ErrInvalidPath,
// so the client gets a 4xx rather than a 500.
func clientError(op, p string, err error) error {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ENAMETOOLONG) || errors.Is(err, syscall.EISDIR) ||
		errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ELOOP) || isEscape(err) {
		return fmt.Errorf("artifact: %s %s: %v: %w", op, p, err, ErrInvalidPath)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("artifact: %s %s: %w", op, p, ErrNotFound)
	}
	return fmt.Errorf("artifact: %s %s: %w", op, p, err)
}

// isEscape reports os.Root's refusal of a path leaving the root.
func isEscape(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

// Put streams r into a temp file next to p and renames it into place.
func (l *Local) Put(ctx context.Context, p string, r io.Reader) error {
	name, err := rel(p)
	if err != nil {
		return err
	}
	if name == "." {
		return fmt.Errorf("artifact: put: empty path: %w", ErrInvalidPath)
	}
	root, err := l.open()
	if err != nil {
		return err
	}
	defer root.Close()
	dir := filepath.Dir(name)
	if dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return clientError("put", p, err)
		}
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(dir, uploadPrefix+hex.EncodeToString(rnd[:]))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return clientError("put", p, err)
	}
	defer root.Remove(tmp)
	if _, err := io.Copy(f, ctxReader{ctx, r}); err != nil {
		f.Close()
		return fmt.Errorf("artifact: put %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("artifact: put %s: %w", p, err)
	}
	if err := root.Rename(tmp, name); err != nil {
		return clientError("put", p, err)
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
	name, err := rel(p)
	if err != nil {
		return nil, 0, err
	}
	root, err := l.open()
	if err != nil {
		return nil, 0, err
	}
	defer root.Close() // the file stays open
	f, err := root.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, 0, fmt.Errorf("artifact: open %s: %w", p, ErrNotFound)
		}
		return nil, 0, clientError("open", p, err)
	}
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		f.Close()
		return nil, 0, fmt.Errorf("artifact: open %s: not a file: %w", p, ErrNotFound)
	}
	return f, st.Size(), nil
}

// List lists a directory's direct children; a missing directory (or
// root) lists as empty.
func (l *Local) List(_ context.Context, p string) ([]Entry, error) {
	name, err := rel(p)
	if err != nil {
		return nil, err
	}
	root, err := l.open()
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer root.Close()
	d, err := root.Open(name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, clientError("list", p, err)
	}
	defer d.Close()
	if st, err := d.Stat(); err == nil && !st.IsDir() {
		return nil, nil // a file is listed as nothing, as MLflow does
	}
	des, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("artifact: list %s: %w", p, err)
	}
	c, _ := CleanPath(p)
	var out []Entry
	for _, de := range des {
		if strings.HasPrefix(de.Name(), uploadPrefix) {
			continue
		}
		r := de.Name()
		if c != "" {
			r = c + "/" + r
		}
		e := Entry{Path: r, IsDir: de.IsDir()}
		if de.Type()&fs.ModeSymlink != 0 {
			// Described as what it points to, if that is inside the root.
			st, err := root.Stat(filepath.FromSlash(r))
			if err != nil {
				continue
			}
			e.IsDir = st.IsDir()
			if !e.IsDir {
				e.Size = st.Size()
			}
		} else if !de.IsDir() {
			if info, err := de.Info(); err == nil {
				e.Size = info.Size()
			}
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Delete removes a file or directory tree (a symbolic link is removed, not
// what it points to).
func (l *Local) Delete(_ context.Context, p string) error {
	name, err := rel(p)
	if err != nil {
		return err
	}
	if name == "." {
		return fmt.Errorf("artifact: delete: refusing to delete the root: %w", ErrInvalidPath)
	}
	root, err := l.open()
	if err != nil {
		return err
	}
	defer root.Close()
	if _, err := root.Lstat(name); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("artifact: delete %s: %w", p, ErrNotFound)
		}
		return clientError("delete", p, err)
	}
	if err := root.RemoveAll(name); err != nil {
		return clientError("delete", p, err)
	}
	return nil
}

// removeStaleUploads deletes the temp files of uploads that never
// finished.
func (l *Local) removeStaleUploads() error {
	root, err := l.open()
	if err != nil {
		return err
	}
	defer root.Close()
	var stale []string
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts are skipped, not fatal
		}
		if !d.IsDir() && strings.HasPrefix(path.Base(p), uploadPrefix) {
			stale = append(stale, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("artifact: scan %s for stale uploads: %w", l.root, err)
	}
	for _, p := range stale {
		if err := root.Remove(filepath.FromSlash(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("artifact: remove stale upload %s: %w", p, err)
		}
	}
	return nil
}
