package resolve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/dawn-ml/dawn/artifact"
)

// Stats is what a Download copied.
type Stats struct {
	Files int   // files written
	Dirs  int   // directories made
	Bytes int64 // bytes written
}

// Download copies the directory at uri, recursively, into the local
// directory dst (created if missing); a uri naming one file is copied to
// dst/NAME. Every file is written through an os.Root at dst, and names in
// a listing that are not plain single names are refused, so nothing lands
// outside dst. The Limits bound the bytes, entries and depth; past them
// the download stops with ErrLimit. What was written stays: callers that
// need all-or-nothing download into a temporary directory and rename it.
func (r *Resolver) Download(ctx context.Context, uri, dst string) (Stats, error) {
	st, err := r.download(ctx, uri, dst)
	if err != nil {
		return st, fmt.Errorf("resolve: download %s: %w", uri, err)
	}
	return st, nil
}

func (r *Resolver) download(ctx context.Context, uri, dst string) (Stats, error) {
	repo, p, err := r.locate(ctx, uri, 0)
	if err != nil {
		return Stats{}, err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return Stats{}, err
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return Stats{}, err
	}
	defer root.Close()
	c := copier{repo: repo, root: root, lim: r.limits()}
	ents, err := repo.List(ctx, p)
	if err != nil {
		return c.st, err
	}
	if len(ents) == 0 {
		// A file, or nothing.
		if p == "" {
			return c.st, fmt.Errorf("no artifacts there: %w", artifact.ErrNotFound)
		}
		name := path.Base(p)
		if err := c.file(ctx, p, name); err != nil {
			if errors.Is(err, artifact.ErrNotFound) {
				return c.st, fmt.Errorf("no artifacts there: %w", artifact.ErrNotFound)
			}
			return c.st, err
		}
		return c.st, nil
	}
	return c.st, c.tree(ctx, ".", ents, 0)
}

func (r *Resolver) limits() Limits {
	l, d := r.Limits, DefaultLimits
	return Limits{MaxBytes: cmp.Or(max(l.MaxBytes, 0), d.MaxBytes), MaxFiles: cmp.Or(max(l.MaxFiles, 0), d.MaxFiles), MaxDepth: cmp.Or(max(l.MaxDepth, 0), d.MaxDepth)}
}

// copier copies a repo's tree under root, counting against lim.
type copier struct {
	repo artifact.Repo
	root *os.Root
	lim  Limits
	st   Stats
}

// safeName is a listed entry's base name when it is one plain name.
func safeName(entry string) (string, error) {
	name := path.Base(entry)
	if name == "" || name == "." || name == ".." || name == "/" || strings.ContainsAny(name, "/\\\x00") {
		return "", fmt.Errorf("listing holds a bad name %q: %w", entry, artifact.ErrInvalidPath)
	}
	return name, nil
}

func (c *copier) count() error {
	if c.st.Files+c.st.Dirs >= c.lim.MaxFiles {
		return fmt.Errorf("more than %d files and directories: %w", c.lim.MaxFiles, ErrLimit)
	}
	return nil
}

// tree copies the listed entries of a repo directory into local directory local.
func (c *copier) tree(ctx context.Context, local string, ents []artifact.Entry, depth int) error {
	for _, e := range ents {
		name, err := safeName(e.Path)
		if err != nil {
			return err
		}
		if err := c.count(); err != nil {
			return err
		}
		child := path.Join(local, name)
		if !e.IsDir {
			if err := c.file(ctx, e.Path, child); err != nil {
				return err
			}
			continue
		}
		if depth+1 > c.lim.MaxDepth {
			return fmt.Errorf("tree deeper than %d levels at %q: %w", c.lim.MaxDepth, e.Path, ErrLimit)
		}
		if err := c.root.Mkdir(child, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("make %s: %w", child, err)
		}
		c.st.Dirs++
		sub, err := c.repo.List(ctx, e.Path)
		if err != nil {
			return err
		}
		if err := c.tree(ctx, child, sub, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// file copies repo file p to local, stopping at the byte budget.
func (c *copier) file(ctx context.Context, p, local string) error {
	rc, _, err := c.repo.Open(ctx, p)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := c.root.OpenFile(local, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", local, err)
	}
	left := c.lim.MaxBytes - c.st.Bytes
	n, err := io.Copy(f, io.LimitReader(rc, left+1))
	c.st.Bytes += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", p, err)
	}
	if n > left {
		return fmt.Errorf("more than %d bytes: %w", c.lim.MaxBytes, ErrLimit)
	}
	c.st.Files++
	return nil
}
