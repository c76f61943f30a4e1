package resolve_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/artifact/resolve"
	"github.com/dawn-ml/dawn/artifact/s3"
	"github.com/dawn-ml/dawn/artifact/s3/s3test"
	"github.com/dawn-ml/dawn/tracking/trackingtest"
)

// modelDir writes the small model tree every scheme serves.
func modelDir(t *testing.T) string {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "data", "deep"), 0o755)
	os.WriteFile(filepath.Join(dir, "MLmodel"), []byte("flavors: {}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "data", "w.bin"), []byte("weights"), 0o644)
	os.WriteFile(filepath.Join(dir, "data", "deep", "x"), []byte("12345"), 0o644)
	return dir
}

// tree lists a local directory as "path=content" lines, sorted.
func tree(t *testing.T, dir string) string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel)+"="+string(b))
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, " ")
}

const wantTree = "MLmodel=flavors: {}\n data/deep/x=12345 data/w.bin=weights"

// Every scheme opens one file and downloads the model directory to the
// same tree, against dawn's tracking server (runs:/, models:/,
// mlflow-artifacts:), the local file system and, when versitygw is
// installed, S3.
func TestSchemes(t *testing.T) {
	ctx := t.Context()
	ts := trackingtest.Start(t)
	src := modelDir(t)
	exp, err := ts.Client.CreateExperiment(ctx, "resolve")
	if err != nil {
		t.Fatal(err)
	}
	run, err := ts.Client.CreateRun(ctx, exp, "train")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Client.LogArtifact(ctx, run.Info.RunID, src, "model"); err != nil {
		t.Fatal(err)
	}
	id := run.Info.RunID
	if _, err := ts.Client.CreateModelVersion(ctx, "spam", "runs:/"+id+"/model", id); err != nil {
		t.Fatal(err)
	}
	if err := ts.Client.SetRegisteredModelAlias(ctx, "spam", "prod", "1"); err != nil {
		t.Fatal(err)
	}
	lrun, err := ts.Client.CreateRun(ctx, exp, "logged")
	if err != nil {
		t.Fatal(err)
	}
	lm, err := ts.Client.LogLoggedModel(ctx, lrun, "clf", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	proxy := strings.TrimPrefix(run.Info.ArtifactURI, "mlflow-artifacts:")

	type scheme struct{ name, dir, file string }
	cases := []scheme{
		{"path", src, filepath.Join(src, "data", "w.bin")},
		{"file", "file://" + src, "file://" + filepath.ToSlash(filepath.Join(src, "data", "w.bin"))},
		{"mlflow-artifacts", run.Info.ArtifactURI + "/model", run.Info.ArtifactURI + "/model/data/w.bin"},
		{"mlflow-artifacts-host", "mlflow-artifacts://host:5000" + proxy + "/model", "mlflow-artifacts://host:5000" + proxy + "/model/data/w.bin"},
		{"runs", "runs:/" + id + "/model", "runs:/" + id + "/model/data/w.bin"},
		{"runs-logged-model", "runs:/" + lrun.Info.RunID + "/clf", ""},
		{"models-version", "models:/spam/1", ""},
		{"models-alias", "models:/spam@prod", ""},
		{"models-logged", "models:/" + lm.Info.ModelID, ""},
	}
	var so s3.Options
	if s3test.Binary() != "" {
		endpoint := s3test.Start(t)
		s3test.CreateBucket(t, endpoint, "models")
		so = s3test.Options(endpoint)
		repo, err := s3.Open(ctx, "s3://models/spam", so)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"MLmodel", "data/w.bin", "data/deep/x"} {
			b, _ := os.ReadFile(filepath.Join(src, f))
			if err := repo.Put(ctx, f, bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
		}
		cases = append(cases, scheme{"s3", "s3://models/spam", "s3://models/spam/data/w.bin"})
	} else {
		t.Logf("s3 case skipped: no versitygw (%s)", s3test.Install)
	}
	r := &resolve.Resolver{TrackingURI: ts.URL, S3: so}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "out")
			st, err := r.Download(ctx, c.dir, dst)
			if err != nil {
				t.Fatal(err)
			}
			if got := tree(t, dst); got != wantTree {
				t.Fatalf("Download(%s) = %q, want %q", c.dir, got, wantTree)
			}
			if st.Files != 3 || st.Dirs != 2 || st.Bytes != int64(len("flavors: {}\n")+len("weights")+len("12345")) {
				t.Errorf("stats %+v", st)
			}
			if c.file == "" {
				return
			}
			rc, err := r.Open(ctx, c.file)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if b, err := io.ReadAll(rc); err != nil || string(b) != "weights" {
				t.Fatalf("Open(%s) = %q, %v", c.file, b, err)
			}
		})
	}

	// A single file downloads as dst/NAME.
	dst := t.TempDir()
	if _, err := r.Download(ctx, "runs:/"+id+"/model/data/w.bin", dst); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, dst); got != "w.bin=weights" {
		t.Errorf("one-file download = %q", got)
	}

	// Errors name the URI and say what is wrong.
	for _, c := range []struct {
		uri, want string
		is        error
	}{
		{run.Info.ArtifactURI + "/model/missing.txt", "not found", artifact.ErrNotFound},
		{"runs:/" + id + "/model/missing.txt", "not found", artifact.ErrNotFound},
		{"file://" + src + "/missing", "not found", artifact.ErrNotFound},
		{"runs:/" + id + "/model", "not found", artifact.ErrNotFound}, // a directory
		{"runs:/" + id + "/../x", "invalid path", artifact.ErrInvalidPath},
		{"mlflow-artifacts:/a/../../x", "invalid path", artifact.ErrInvalidPath},
		{"runs:/", "want runs:/RUN_ID/PATH", nil},
		{"runs:/0123456789abcdef0123456789abcdef/model/x", "RESOURCE_DOES_NOT_EXIST", nil},
		{"models:/spam/9", "RESOURCE_DOES_NOT_EXIST", nil},
		{"models:/spam", "want models:/NAME/VERSION", nil},
		{"gs://bucket/model", "unsupported artifact URI scheme", resolve.ErrUnsupported},
		{"file://otherhost/etc/passwd", "only local files", nil},
		{"s3:///key", "want s3://bucket", nil},
	} {
		rc, err := r.Open(ctx, c.uri)
		if err == nil {
			rc.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.uri) || !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("Open(%s) = %v; want an error naming the URI and %q", c.uri, err, c.want)
		}
	}
	if _, err := r.Download(ctx, "runs:/"+id+"/nothing", t.TempDir()); err == nil || !errors.Is(err, artifact.ErrNotFound) || !strings.Contains(err.Error(), "no artifacts") {
		t.Errorf("Download of an empty path: %v", err)
	}
	var none resolve.Resolver
	t.Setenv("MLFLOW_TRACKING_URI", "")
	if _, err := none.Open(ctx, "runs:/"+id+"/model/MLmodel"); err == nil || !strings.Contains(err.Error(), "needs a tracking server") {
		t.Errorf("runs:/ without a tracking server: %v", err)
	}
	t.Setenv("MLFLOW_TRACKING_URI", ts.URL)
	rc, err := resolve.Open(ctx, "models:/spam@prod")
	if err == nil {
		rc.Close()
		t.Errorf("models:/ of a directory opened as a file")
	}
	rc, err = resolve.Open(ctx, "runs:/"+id+"/model/MLmodel")
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
}

// hostile is a repo whose listing says whatever the test wants.
type hostile struct {
	list  map[string][]artifact.Entry
	files map[string]string
}

func (h hostile) Put(context.Context, string, io.Reader) error { return errors.New("read-only") }
func (h hostile) Delete(context.Context, string) error         { return errors.New("read-only") }
func (h hostile) List(_ context.Context, p string) ([]artifact.Entry, error) {
	return h.list[p], nil
}
func (h hostile) Open(_ context.Context, p string) (io.ReadCloser, int64, error) {
	s, ok := h.files[p]
	if !ok {
		return nil, 0, artifact.ErrNotFound
	}
	return io.NopCloser(strings.NewReader(s)), int64(len(s)), nil
}

func TestDownloadRefusesAndBounds(t *testing.T) {
	ctx := t.Context()
	outside := t.TempDir()
	for _, c := range []struct {
		name  string
		repo  hostile
		lim   resolve.Limits
		want  string
		is    error
		setup func(dst string)
	}{
		{"dotdot", hostile{list: map[string][]artifact.Entry{"": {{Path: ".."}}}}, resolve.Limits{}, "bad name", artifact.ErrInvalidPath, nil},
		{"backslash", hostile{list: map[string][]artifact.Entry{"": {{Path: `..\..\x`}}}, files: map[string]string{`..\..\x`: "x"}}, resolve.Limits{}, "bad name", artifact.ErrInvalidPath, nil},
		{"empty", hostile{list: map[string][]artifact.Entry{"": {{Path: ""}}}}, resolve.Limits{}, "bad name", artifact.ErrInvalidPath, nil},
		{"bytes", hostile{list: map[string][]artifact.Entry{"": {{Path: "a"}, {Path: "b"}}}, files: map[string]string{"a": "123456", "b": "7890"}},
			resolve.Limits{MaxBytes: 8}, "more than 8 bytes", resolve.ErrLimit, nil},
		{"files", hostile{list: map[string][]artifact.Entry{"": {{Path: "a"}, {Path: "b"}, {Path: "c"}}}, files: map[string]string{"a": "1", "b": "2", "c": "3"}},
			resolve.Limits{MaxFiles: 2}, "more than 2 files", resolve.ErrLimit, nil},
		{"depth", hostile{list: map[string][]artifact.Entry{"": {{Path: "d", IsDir: true}}, "d": {{Path: "d/d", IsDir: true}}, "d/d": {{Path: "d/d/d", IsDir: true}}}},
			resolve.Limits{MaxDepth: 2}, "deeper than 2", resolve.ErrLimit, nil},
		// A symbolic link already in the destination cannot carry a write
		// outside it.
		{"symlink", hostile{list: map[string][]artifact.Entry{"": {{Path: "link"}}}, files: map[string]string{"link": "pwned"}}, resolve.Limits{}, "link", nil,
			func(dst string) { os.Symlink(filepath.Join(outside, "victim"), filepath.Join(dst, "link")) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r resolve.Resolver
			r.Limits = c.lim
			repo := c.repo
			r.Register("evil", resolve.SchemeFunc(func(context.Context, string) (artifact.Repo, string, error) { return repo, "", nil }))
			dst := t.TempDir()
			if c.setup != nil {
				c.setup(dst)
			}
			_, err := r.Download(ctx, "evil://x", dst)
			if err == nil || !strings.Contains(err.Error(), "evil://x") || !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Fatalf("Download = %v; want an error naming the URI and %q", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(outside, "victim")); err == nil {
				t.Fatal("a file was written outside the destination")
			}
		})
	}
}
