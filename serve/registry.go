package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/artifact/s3"
	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/tracking"
)

// ModelURI is a registry reference: models:/NAME/VERSION,
// models:/NAME@ALIAS, or MLflow 3's models:/m-<id> (a logged model, whose
// id is then Name and Version).
type ModelURI struct {
	Name, Version, Alias string
	Logged               bool
}

func (u ModelURI) String() string {
	if u.Logged {
		return "models:/" + u.Name
	}
	if u.Alias != "" {
		return "models:/" + u.Name + "@" + u.Alias
	}
	return "models:/" + u.Name + "/" + u.Version
}

// ParseModelURI parses a models:/ URI; ok is false for anything else (a
// directory).
func ParseModelURI(s string) (u ModelURI, ok bool, err error) {
	rest, found := strings.CutPrefix(s, "models:/")
	if !found {
		return u, false, nil
	}
	rest = strings.TrimPrefix(rest, "/")
	if tracking.IsLoggedModelID(rest) {
		return ModelURI{Name: rest, Version: rest, Logged: true}, true, nil
	}
	if name, alias, isAlias := strings.Cut(rest, "@"); isAlias {
		if name == "" || alias == "" || strings.Contains(alias, "/") {
			return u, true, fmt.Errorf("serve: model URI %q: want models:/NAME@ALIAS", s)
		}
		return ModelURI{Name: name, Alias: alias}, true, nil
	}
	i := strings.LastIndex(rest, "/")
	if i <= 0 || i == len(rest)-1 {
		return u, true, fmt.Errorf("serve: model URI %q: want models:/NAME/VERSION, models:/NAME@ALIAS or models:/m-<id>", s)
	}
	return ModelURI{Name: rest[:i], Version: rest[i+1:]}, true, nil
}

// Registry resolves model URIs with MLflow's model-registry REST API
// (get-model-version, get-model-version-by-alias,
// get-model-version-download-uri, MLflow 3's logged-models) and fetches
// the model's files, so it works against dawn's tracking server or any
// MLflow-compatible one. All calls go through tracking.Client, with its
// credentials and retries.
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
}

func (r *Registry) api() (*tracking.Client, error) {
	if r.Client == nil {
		c, err := tracking.NewClient(r.TrackingURI)
		if err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		r.Client = c
	}
	return r.Client, nil
}

// Resolve returns the version u names now and its artifact URI.
func (r *Registry) Resolve(ctx context.Context, u ModelURI) (version, artifactURI string, err error) {
	c, err := r.api()
	if err != nil {
		return "", "", err
	}
	if u.Logged {
		m, err := c.GetLoggedModel(ctx, u.Name)
		if err != nil {
			return "", "", fmt.Errorf("serve: resolve %s at %s: %w", u, r.TrackingURI, err)
		}
		return u.Name, m.Info.ArtifactURI, nil
	}
	var mv *tracking.ModelVersion
	if u.Alias != "" {
		mv, err = c.GetModelVersionByAlias(ctx, u.Name, u.Alias)
	} else {
		mv, err = c.GetModelVersion(ctx, u.Name, u.Version)
	}
	if err != nil {
		return "", "", fmt.Errorf("serve: resolve %s at %s: %w", u, r.TrackingURI, err)
	}
	version = mv.Version
	uri, err := c.GetModelVersionDownloadURI(ctx, u.Name, version)
	if err != nil {
		return "", "", fmt.Errorf("serve: resolve %s version %s: %w", u, version, err)
	}
	if uri == "" {
		uri = mv.Source
	}
	return version, uri, nil
}

// Fetch makes the model at artifactURI available as a local directory: a
// local path or file:// URI is used in place; an mlflow-artifacts: URI is
// downloaded through the tracking server's artifact proxy, and an s3:// URI
// from the object store, into the cache; runs:/RUN_ID/PATH is resolved to
// the run's artifact URI (runs/get) and fetched by that URI's scheme.
func (r *Registry) Fetch(ctx context.Context, name, version, artifactURI string) (string, error) {
	dir, err := r.fetch(ctx, name, version, artifactURI)
	if err != nil {
		return "", fmt.Errorf("serve: fetch %s: %w", artifactURI, err)
	}
	return dir, nil
}

func (r *Registry) fetch(ctx context.Context, name, version, artifactURI string) (string, error) {
	switch {
	case strings.HasPrefix(artifactURI, "file://"):
		u, err := url.Parse(artifactURI)
		if err != nil {
			return "", err
		}
		return u.Path, nil
	case strings.HasPrefix(artifactURI, "/"):
		return artifactURI, nil
	case strings.HasPrefix(artifactURI, "mlflow-artifacts:"):
		p := strings.TrimPrefix(artifactURI, "mlflow-artifacts:")
		if strings.HasPrefix(p, "//") { // mlflow-artifacts://host:port/path
			if i := strings.Index(p[2:], "/"); i >= 0 {
				p = p[2+i:]
			} else {
				p = "/"
			}
		}
		p = strings.Trim(p, "/")
		return r.cached(name, version, func(dst string) error { return r.download(ctx, p, dst, 0) })
	case strings.HasPrefix(artifactURI, "s3://"):
		repo, err := s3.Open(ctx, artifactURI, r.S3)
		if err != nil {
			return "", err
		}
		return r.cached(name, version, func(dst string) error { return copyTree(ctx, repo, "", dst, 0) })
	case strings.HasPrefix(artifactURI, "runs:/"):
		uri, lm, err := r.runArtifactURI(ctx, artifactURI)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(uri, "runs:/") {
			return "", fmt.Errorf("the run's artifact URI %s is itself a runs:/ URI", uri)
		}
		dir, err := r.fetch(ctx, name, version, uri)
		if err != nil && lm != "" {
			// MLflow 3 keeps a model logged in a run under the logged
			// model, not the run: runs:/RUN/NAME names it when the run
			// has no artifacts at NAME.
			if dir, lerr := r.fetch(ctx, name, version, lm); lerr == nil {
				return dir, nil
			}
		}
		return dir, err
	}
	return "", errors.New("unsupported artifact URI scheme (dawn serve reads local paths, file://, mlflow-artifacts: through the tracking server, s3:// and runs:/)")
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

// runArtifactURI turns runs:/RUN_ID/PATH into the run's artifact URI (from
// runs/get) joined with PATH, and, when the run produced a logged model
// named PATH, that model's artifact URI as a second choice.
func (r *Registry) runArtifactURI(ctx context.Context, uri string) (string, string, error) {
	rest := strings.TrimLeft(strings.TrimPrefix(uri, "runs:/"), "/")
	id, sub, _ := strings.Cut(rest, "/")
	if id == "" {
		return "", "", errors.New("want runs:/RUN_ID/PATH")
	}
	sub, err := artifact.CleanPath(strings.Trim(sub, "/"))
	if err != nil {
		return "", "", fmt.Errorf("path %q: %w", sub, err)
	}
	c, err := r.api()
	if err != nil {
		return "", "", err
	}
	run, err := c.GetRun(ctx, id)
	if err != nil {
		return "", "", fmt.Errorf("resolve run %s at %s: %w", id, r.TrackingURI, err)
	}
	root := run.Info.ArtifactURI
	if root == "" {
		return "", "", fmt.Errorf("run %s has no artifact URI", id)
	}
	if sub == "" {
		return root, "", nil
	}
	logged := ""
	if !strings.Contains(sub, "/") {
		// Servers without logged models answer 404; that is "none".
		if m, err := c.FindLoggedModel(ctx, run.Info.ExperimentID, id, sub); err == nil && m != nil {
			logged = m.Info.ArtifactURI
		}
	}
	return strings.TrimRight(root, "/") + "/" + sub, logged, nil
}

// copyTree copies directory p of repo into dst, recursively.
func copyTree(ctx context.Context, repo artifact.Repo, p, dst string, depth int) error {
	if depth > 32 {
		return errors.New("artifact tree deeper than 32 levels")
	}
	ents, err := repo.List(ctx, p)
	if err != nil {
		return err
	}
	if len(ents) == 0 && depth == 0 {
		return errors.New("no artifacts there")
	}
	for _, e := range ents {
		base := path.Base(e.Path)
		if base == "." || base == ".." || base == "/" || base == "" {
			return fmt.Errorf("artifact listing of %q holds a bad name %q", p, e.Path)
		}
		target := filepath.Join(dst, base)
		if e.IsDir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			if err := copyTree(ctx, repo, e.Path, target, depth+1); err != nil {
				return err
			}
			continue
		}
		if err := copyObject(ctx, repo, e.Path, target); err != nil {
			return err
		}
	}
	return nil
}

func copyObject(ctx context.Context, repo artifact.Repo, p, target string) error {
	rc, _, err := repo.Open(ctx, p)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.Create(target)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return fmt.Errorf("read %s: %w", p, err)
	}
	return f.Close()
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == 0 {
			return '_'
		}
		return r
	}, s)
}

// download copies the proxy's directory p into dst, recursively.
func (r *Registry) download(ctx context.Context, p, dst string, depth int) error {
	if depth > 32 {
		return errors.New("artifact tree deeper than 32 levels")
	}
	c, err := r.api()
	if err != nil {
		return err
	}
	files, err := c.ListProxyArtifacts(ctx, p)
	if err != nil {
		return err
	}
	if len(files) == 0 && depth == 0 {
		return fmt.Errorf("no artifacts under %q", p)
	}
	for _, f := range files {
		base := path.Base(f.Path)
		if base == "." || base == ".." || base == "/" {
			return fmt.Errorf("artifact listing of %q holds a bad name %q", p, f.Path)
		}
		child := p + "/" + base
		target := filepath.Join(dst, base)
		if f.IsDir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			if err := r.download(ctx, child, target, depth+1); err != nil {
				return err
			}
			continue
		}
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if err := c.DownloadProxyArtifact(ctx, child, out); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
	}
	return nil
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
