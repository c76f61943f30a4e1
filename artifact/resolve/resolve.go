// Package resolve is the one owner of artifact URIs in dawn: local paths,
// file://, s3://, mlflow-artifacts: (through a tracking server's artifact
// proxy), runs:/RUN_ID/PATH and models:/ (a registered version, an alias or
// an MLflow 3 logged model). Every command that reads a model or an
// artifact by URI goes through a Resolver: Open streams one file, Download
// copies a directory (a model) into a local one, bounded in bytes, files
// and depth, and writing every file through an os.Root at the destination,
// so a hostile listing cannot place a file outside it.
//
// Each scheme is a Scheme that locates the artifact.Repo holding a URI and
// the URI's path inside it; runs:/ and models:/ resolve through the
// tracking server (tracking.Client, with credentials from
// MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN) to another
// URI and locate that. Register adds a scheme. The package sits below
// artifact, artifact/s3 and tracking, which it imports, so none of them
// import it.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/artifact/s3"
	"github.com/dawn-ml/dawn/tracking"
)

// Scheme locates what a URI of one scheme names.
type Scheme interface {
	// Locate returns the repo holding uri and uri's path inside it ("" for
	// the repo's root). It need not check that the path exists.
	Locate(ctx context.Context, uri string) (artifact.Repo, string, error)
}

// SchemeFunc is a Scheme in one function.
type SchemeFunc func(ctx context.Context, uri string) (artifact.Repo, string, error)

// Locate calls f.
func (f SchemeFunc) Locate(ctx context.Context, uri string) (artifact.Repo, string, error) {
	return f(ctx, uri)
}

// Limits bound what Download copies; a zero field takes the default's.
type Limits struct {
	MaxBytes int64 // bytes in all files
	MaxFiles int   // files and directories
	MaxDepth int   // directory levels below the root
}

// DefaultLimits bound a model download: 16 GiB, 100,000 entries, 32
// levels (documented in docs/limits.md).
var DefaultLimits = Limits{MaxBytes: 16 << 30, MaxFiles: 100_000, MaxDepth: 32}

// maxIndirections bounds runs:/ and models:/ URIs that resolve to other
// runs:/ or models:/ URIs.
const maxIndirections = 8

// Sentinel errors; every error also names the URI.
var (
	ErrUnsupported = errors.New("unsupported artifact URI scheme")
	ErrLimit       = errors.New("artifact download limit exceeded")
)

// Resolver opens artifact URIs. The zero value works: runs:/, models:/ and
// mlflow-artifacts: URIs then need MLFLOW_TRACKING_URI.
type Resolver struct {
	// TrackingURI is the tracking server runs:/, models:/ and
	// mlflow-artifacts: URIs are resolved against (default
	// MLFLOW_TRACKING_URI).
	TrackingURI string
	// Client talks to it; when nil, one is made for TrackingURI with
	// credentials from the MLflow environment variables.
	Client *tracking.Client
	// S3 overrides the endpoint and credentials of s3:// URIs; what it
	// leaves empty comes from the AWS environment.
	S3 s3.Options
	// Limits bound Download (DefaultLimits where zero).
	Limits Limits

	mu      sync.Mutex
	schemes map[string]Scheme
}

// Register makes s handle URIs of scheme (without the colon, e.g. "gs"),
// replacing the built-in handler of that scheme if there is one.
func (r *Resolver) Register(scheme string, s Scheme) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.schemes == nil {
		r.schemes = map[string]Scheme{}
	}
	r.schemes[strings.ToLower(scheme)] = s
}

// scheme returns uri's scheme, lower-cased; "" for a local path.
func scheme(uri string) string {
	i := strings.IndexByte(uri, ':')
	if i <= 0 {
		return ""
	}
	for j, c := range uri[:i] {
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (j == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return ""
		}
	}
	return strings.ToLower(uri[:i])
}

// Locate returns the repo holding uri and uri's path inside it.
func (r *Resolver) Locate(ctx context.Context, uri string) (artifact.Repo, string, error) {
	repo, p, err := r.locate(ctx, uri, 0)
	if err != nil {
		return nil, "", fmt.Errorf("resolve: %s: %w", uri, err)
	}
	return repo, p, nil
}

func (r *Resolver) locate(ctx context.Context, uri string, depth int) (artifact.Repo, string, error) {
	if depth > maxIndirections {
		return nil, "", fmt.Errorf("runs:/ and models:/ URIs nest deeper than %d", maxIndirections)
	}
	sc := scheme(uri)
	r.mu.Lock()
	custom := r.schemes[sc]
	r.mu.Unlock()
	if custom != nil {
		return custom.Locate(ctx, uri)
	}
	switch sc {
	case "", "file":
		dir, err := LocalPath(uri)
		if err != nil {
			return nil, "", err
		}
		return locateLocal(dir)
	case "s3":
		return r.locateS3(ctx, uri)
	case "mlflow-artifacts":
		return r.locateProxy(uri)
	case "runs":
		return r.locateRun(ctx, uri, depth)
	case "models":
		u, _, err := ParseModelURI(uri)
		if err != nil {
			return nil, "", err
		}
		_, target, err := r.ResolveModel(ctx, u)
		if err != nil {
			return nil, "", err
		}
		return r.locate(ctx, target, depth+1)
	}
	return nil, "", fmt.Errorf("%w %q (dawn reads local paths, file://, s3://, mlflow-artifacts:, runs:/ and models:/)", ErrUnsupported, sc+":")
}

// LocalPath returns the local path a plain path or file:// URI names
// (absolute); an error for any other URI.
func LocalPath(uri string) (string, error) {
	switch scheme(uri) {
	case "":
		if uri == "" {
			return "", errors.New("empty path")
		}
		return filepath.Abs(uri)
	case "file":
		u, err := url.Parse(uri)
		if err != nil {
			return "", fmt.Errorf("bad file URI: %w", err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("file URI names host %q; only local files are read", u.Host)
		}
		p := u.Path
		if p == "" {
			p = u.Opaque // file:rel/x
		}
		if p == "" {
			return "", errors.New("file URI names no path")
		}
		return filepath.Abs(filepath.FromSlash(p))
	}
	return "", fmt.Errorf("%q is not a local path or file:// URI", uri)
}

// locateLocal roots a directory at itself and a file (or a missing path)
// at its parent.
func locateLocal(p string) (artifact.Repo, string, error) {
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		l, err := artifact.OpenLocal(p)
		return l, "", err
	}
	l, err := artifact.OpenLocal(filepath.Dir(p))
	return l, filepath.Base(p), err
}

func (r *Resolver) locateS3(ctx context.Context, uri string) (artifact.Repo, string, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" {
		return nil, "", errors.New("want s3://bucket[/key]")
	}
	p, err := cleanPath(u.Path)
	if err != nil {
		return nil, "", err
	}
	repo, err := s3.Open(ctx, "s3://"+u.Host, r.S3)
	if err != nil {
		return nil, "", err
	}
	return repo, p, nil
}

// cleanPath is the repo path a URI's path names: no leading or trailing
// slash, no "..".
func cleanPath(p string) (string, error) {
	c, err := artifact.CleanPath(strings.Trim(p, "/"))
	if err != nil {
		return "", fmt.Errorf("path %q: %w", p, err)
	}
	return c, nil
}

// locateProxy maps mlflow-artifacts:/PATH and mlflow-artifacts://HOST/PATH
// to PATH under the tracking server's proxy. The host is MLflow's record
// of the server that wrote it; the configured tracking server is asked.
func (r *Resolver) locateProxy(uri string) (artifact.Repo, string, error) {
	p := uri[len("mlflow-artifacts:"):]
	if rest, ok := strings.CutPrefix(p, "//"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			p = rest[i:]
		} else {
			p = ""
		}
	}
	clean, err := cleanPath(p)
	if err != nil {
		return nil, "", err
	}
	c, err := r.client()
	if err != nil {
		return nil, "", err
	}
	return proxyRepo{c}, clean, nil
}

// client returns the tracking client, making it on first use.
func (r *Resolver) client() (*tracking.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Client != nil {
		return r.Client, nil
	}
	uri := r.TrackingURI
	if uri == "" {
		uri = os.Getenv("MLFLOW_TRACKING_URI")
	}
	if uri == "" {
		return nil, errors.New("needs a tracking server (--tracking-uri or MLFLOW_TRACKING_URI)")
	}
	c, err := tracking.NewClient(uri)
	if err != nil {
		return nil, err
	}
	r.Client = c
	return c, nil
}

// locateRun resolves runs:/RUN_ID/PATH to the run's artifact URI joined
// with PATH. MLflow 3 keeps a model logged in a run under the logged
// model, not the run: when the run holds nothing at a one-segment PATH and
// has a logged model of that name, that model's artifacts are meant.
func (r *Resolver) locateRun(ctx context.Context, uri string, depth int) (artifact.Repo, string, error) {
	rest := strings.TrimLeft(uri[len("runs:"):], "/")
	id, sub, _ := strings.Cut(rest, "/")
	if id == "" {
		return nil, "", errors.New("want runs:/RUN_ID/PATH")
	}
	sub, err := cleanPath(sub)
	if err != nil {
		return nil, "", err
	}
	c, err := r.client()
	if err != nil {
		return nil, "", err
	}
	run, err := c.GetRun(ctx, id)
	if err != nil {
		return nil, "", fmt.Errorf("get run %s at %s: %w", id, c.URI(), err)
	}
	root := run.Info.ArtifactURI
	if root == "" {
		return nil, "", fmt.Errorf("run %s has no artifact URI", id)
	}
	if scheme(root) == "runs" {
		return nil, "", fmt.Errorf("the run's artifact URI %s is itself a runs:/ URI", root)
	}
	target := root
	if sub != "" {
		target = strings.TrimRight(root, "/") + "/" + sub
	}
	repo, p, err := r.locate(ctx, target, depth+1)
	if err != nil || sub == "" || strings.Contains(sub, "/") || exists(ctx, repo, p) {
		return repo, p, err
	}
	// Servers without logged models answer 404; that is "none".
	if m, lerr := c.FindLoggedModel(ctx, run.Info.ExperimentID, id, sub); lerr == nil && m != nil && m.Info.ArtifactURI != "" {
		return r.locate(ctx, m.Info.ArtifactURI, depth+1)
	}
	return repo, p, nil
}

// exists reports whether p is a file or a non-empty directory of repo.
func exists(ctx context.Context, repo artifact.Repo, p string) bool {
	if ents, err := repo.List(ctx, p); err == nil && len(ents) > 0 {
		return true
	}
	rc, _, err := repo.Open(ctx, p)
	if err != nil {
		return false
	}
	rc.Close()
	return true
}

// ResolveModel returns the version u names now and its artifact URI, as
// the registry's get-model-version(-by-alias) and get-download-uri (or
// logged-models/get for models:/m-<id>) answer them.
func (r *Resolver) ResolveModel(ctx context.Context, u ModelURI) (version, artifactURI string, err error) {
	c, err := r.client()
	if err != nil {
		return "", "", err
	}
	if u.Logged {
		m, err := c.GetLoggedModel(ctx, u.Name)
		if err != nil {
			return "", "", fmt.Errorf("resolve %s at %s: %w", u, c.URI(), err)
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
		return "", "", fmt.Errorf("resolve %s at %s: %w", u, c.URI(), err)
	}
	uri, err := c.GetModelVersionDownloadURI(ctx, u.Name, mv.Version)
	if err != nil {
		return "", "", fmt.Errorf("resolve %s version %s: %w", u, mv.Version, err)
	}
	if uri == "" {
		uri = mv.Source
	}
	return mv.Version, uri, nil
}
