package resolve

import (
	"context"
	"fmt"
	"io"

	"github.com/dawn-ml/dawn/artifact"
)

// Open streams the file at uri with a Resolver configured from the
// environment.
func Open(ctx context.Context, uri string) (io.ReadCloser, error) {
	var r Resolver
	return r.Open(ctx, uri)
}

// Open streams the file at uri.
func (r *Resolver) Open(ctx context.Context, uri string) (io.ReadCloser, error) {
	repo, p, err := r.locate(ctx, uri, 0)
	if err != nil {
		return nil, fmt.Errorf("resolve: open %s: %w", uri, err)
	}
	if p == "" {
		return nil, fmt.Errorf("resolve: open %s: names a directory, not a file: %w", uri, artifact.ErrNotFound)
	}
	rc, _, err := repo.Open(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("resolve: open %s: %w", uri, err)
	}
	return rc, nil
}
