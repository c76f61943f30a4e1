package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/artifact/s3"
	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/explain"
)

// s3Timeout bounds one listing or download of an s3:// source.
const s3Timeout = 5 * time.Minute

func isS3(p string) bool { return strings.HasPrefix(p, "s3://") }

// sourceFiles lists the source's data files in name order: a directory,
// file or glob, or the objects directly under an s3://bucket/prefix
// (names as s3://bucket/prefix/NAME, data files only, none starting with
// '.').
func (r *Runner) sourceFiles(ctx context.Context) ([]string, error) {
	src := r.cfg.Source.Path
	if !isS3(src) {
		files, err := explain.Inputs(src)
		if err != nil {
			return nil, err
		}
		if len(files) == 1 && files[0] == src {
			if _, err := os.Stat(files[0]); err != nil {
				return nil, err
			}
		}
		return files, nil
	}
	repo, err := r.s3Repo(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s3Timeout)
	defer cancel()
	ents, err := repo.List(ctx, "")
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(src, "/")
	var files []string
	for _, e := range ents {
		name := path.Base(e.Path)
		if e.IsDir || strings.HasPrefix(name, ".") {
			continue
		}
		plain := strings.TrimSuffix(name, ".gz")
		if _, err := data.FormatOf(plain); err != nil {
			continue
		}
		files = append(files, base+"/"+name)
	}
	return files, nil // List sorts by name
}

func (r *Runner) s3Repo(ctx context.Context) (*s3.Repo, error) {
	if r.s3 != nil {
		return r.s3, nil
	}
	repo, err := s3.Open(ctx, strings.TrimRight(r.cfg.Source.Path, "/"), r.S3)
	if err != nil {
		return nil, err
	}
	r.s3 = repo
	return repo, nil
}

// fetch makes an s3:// source file readable: it downloads the object into
// a temporary file (removed by done) and returns its path; a local file is
// returned as it is.
func (r *Runner) fetch(ctx context.Context, name string) (local string, done func(), err error) {
	if !isS3(name) {
		return name, func() {}, nil
	}
	repo, err := r.s3Repo(ctx)
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s3Timeout)
	defer cancel()
	body, _, err := repo.Open(ctx, path.Base(name))
	if err != nil {
		return "", nil, err
	}
	defer body.Close()
	// The extension tells the reader the format.
	tmp, err := os.CreateTemp("", "dawn-monitor-*-"+path.Base(name))
	if err != nil {
		return "", nil, fmt.Errorf("download %s: %w", name, err)
	}
	done = func() { os.Remove(tmp.Name()) }
	if _, err := io.Copy(tmp, body); err != nil {
		tmp.Close()
		done()
		return "", nil, fmt.Errorf("download %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		done()
		return "", nil, fmt.Errorf("download %s: %w", name, err)
	}
	return tmp.Name(), done, nil
}
