package resolve

import (
	"context"
	"fmt"
	"io"
	"path"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/tracking"
)

// proxyRepo is a read-only artifact.Repo over a tracking server's artifact
// proxy (/api/2.0/mlflow-artifacts/).
type proxyRepo struct{ c *tracking.Client }

var _ artifact.Repo = proxyRepo{}

var errReadOnly = fmt.Errorf("resolve: the artifact proxy is read here, not written: %w", artifact.ErrInvalidPath)

func (p proxyRepo) Put(context.Context, string, io.Reader) error { return errReadOnly }
func (p proxyRepo) Delete(context.Context, string) error         { return errReadOnly }

func (p proxyRepo) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	return p.c.OpenProxyArtifact(ctx, name)
}

// List names the children by their base name under dir: servers differ in
// whether the listed paths are relative to the root or to dir.
func (p proxyRepo) List(ctx context.Context, dir string) ([]artifact.Entry, error) {
	files, err := p.c.ListProxyArtifacts(ctx, dir)
	if err != nil {
		return nil, err
	}
	out := make([]artifact.Entry, 0, len(files))
	for _, f := range files {
		base := path.Base(f.Path)
		if base == "." || base == ".." || base == "/" || base == "" {
			return nil, fmt.Errorf("resolve: listing of %q holds a bad name %q: %w", dir, f.Path, artifact.ErrInvalidPath)
		}
		e := artifact.Entry{Path: base, IsDir: f.IsDir, Size: int64(f.FileSize)}
		if dir != "" {
			e.Path = dir + "/" + base
		}
		out = append(out, e)
	}
	return out, nil
}
