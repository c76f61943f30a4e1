package serve

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dawn-ml/dawn/artifact/resolve"
	"github.com/dawn-ml/dawn/artifact/s3"
	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/tracking"
)

// ModelURI is a registry reference (models:/NAME/VERSION, models:/NAME@ALIAS
// or models:/m-<id>); resolve owns its syntax.
type ModelURI = resolve.ModelURI

// Registry resolves model URIs with MLflow's model-registry REST API and
// fetches the model's files into a local cache, so it works against dawn's
// tracking server or any MLflow-compatible one. Resolution and download go
// through resolve.Resolver (tracking.Client, with its credentials and
// retries, for runs:/, models:/ and mlflow-artifacts:).
type Registry struct {
	// TrackingURI is the server's base URL, e.g. http://127.0.0.1:5000.
	TrackingURI string
	// Client talks to the server; when nil, one is made for TrackingURI
	// with credentials from MLFLOW_TRACKING_USERNAME/PASSWORD or
	// MLFLOW_TRACKING_TOKEN (or user:password@ in the URI).
	Client *tracking.Client
	// CacheDir holds fetched models (a temporary directory when empty).
	CacheDir string
	// S3 overrides the endpoint and credentials for s3:// artifact URIs;
	// what it leaves empty comes from the AWS environment, as for dawn
	// server's artifact store.
	S3 s3.Options

	once sync.Once
	res  *resolve.Resolver
}

// resolver returns the Resolver built from r's fields on first use.
func (r *Registry) resolver() *resolve.Resolver {
	r.once.Do(func() {
		r.res = &resolve.Resolver{TrackingURI: r.TrackingURI, Client: r.Client, S3: r.S3}
	})
	return r.res
}

// Resolve returns the version u names now and its artifact URI.
func (r *Registry) Resolve(ctx context.Context, u ModelURI) (version, artifactURI string, err error) {
	v, uri, err := r.resolver().ResolveModel(ctx, u)
	if err != nil {
		return "", "", fmt.Errorf("serve: %w", err)
	}
	return v, uri, nil
}

// Fetch makes the model at artifactURI available as a local directory: a
// local path or file:// URI is used in place; any other URI resolve reads
// (mlflow-artifacts:, s3://, runs:/, models:/) is downloaded into the
// cache under name and version.
func (r *Registry) Fetch(ctx context.Context, name, version, artifactURI string) (string, error) {
	if dir, err := resolve.LocalPath(artifactURI); err == nil {
		return dir, nil
	}
	dir, err := r.cached(name, version, func(dst string) error {
		_, err := r.resolver().Download(ctx, artifactURI, dst)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("serve: fetch %s: %w", artifactURI, err)
	}
	return dir, nil
}

// cached fills the cache directory of name and version with get, unless a
// model is already there. get writes into a temporary directory that is
// renamed into place when complete, so a failed download leaves nothing.
func (r *Registry) cached(name, version string, get func(dst string) error) (string, error) {
	cache := r.CacheDir
	if cache == "" {
		cache = filepath.Join(os.TempDir(), "dawn-serve-models")
	}
	dst := filepath.Join(cache, safeName(name), safeName(version))
	if _, err := os.Stat(filepath.Join(dst, model.FileName)); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".fetch-*")
	if err != nil {
		return "", err
	}
	if err := get(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	os.RemoveAll(dst)
	if err := os.Rename(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return dst, nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == 0 {
			return '_'
		}
		return r
	}, s)
}

// Loader opens a model directory (model.Load in dawn).
type Loader func(dir string) (model.Model, error)

// Open resolves u, fetches and loads it, returning the model and its
// version.
func (r *Registry) Open(ctx context.Context, u ModelURI, load Loader) (model.Model, string, error) {
	v, uri, err := r.Resolve(ctx, u)
	if err != nil {
		return nil, "", err
	}
	dir, err := r.Fetch(ctx, u.Name, v, uri)
	if err != nil {
		return nil, "", err
	}
	m, err := load(dir)
	if err != nil {
		return nil, "", fmt.Errorf("serve: load %s version %s from %s: %w", u, v, dir, err)
	}
	return m, v, nil
}

// Follow polls the alias u every interval and, when it points at another
// version, loads that version and swaps it into s without dropping a
// request. Errors are logged and the current model kept. It returns when
// ctx is done.
func Follow(ctx context.Context, s *Server, r *Registry, u ModelURI, interval time.Duration, load Loader, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, uri, err := r.Resolve(ctx, u)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("serve: alias poll failed; keeping the current model", "model", u.String(), "err", err)
			}
			continue
		}
		if v == s.ModelVersion() {
			continue
		}
		dir, err := r.Fetch(ctx, u.Name, v, uri)
		if err != nil {
			log.Error("serve: fetch new version failed; keeping the current model", "model", u.String(), "version", v, "err", err)
			continue
		}
		m, err := load(dir)
		if err != nil {
			log.Error("serve: load new version failed; keeping the current model", "model", u.String(), "version", v, "err", err)
			continue
		}
		old := s.ModelVersion()
		if err := s.Swap(m, v); err != nil {
			log.Error("serve: swap failed; keeping the current model", "model", u.String(), "version", v, "err", err)
			continue
		}
		log.Info("serve: alias moved; now serving the new version", "model", u.String(), "from", old, "to", v)
	}
}
