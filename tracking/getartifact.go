package tracking

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/dawn-ml/dawn/artifact"
)

// GetArtifactPaths are the web UI's file-download routes of MLflow's
// server, outside /api/: GET /get-artifact?run_id=&path= and
// GET /model-versions/get-artifact?name=&version=&path=. NewHandler serves
// them; a server mounting NewHandler under /api/ must mount these too.
var GetArtifactPaths = []string{"/get-artifact", "/model-versions/get-artifact"}

// getArtifact serves one run artifact as a download.
func (a *api) getArtifact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rel, err := artifact.CleanPath(q.Get("path"))
	if err != nil || rel == "" {
		a.fail(w, r, InvalidParameterf("Invalid path"))
		return
	}
	id := q.Get("run_id")
	if id == "" {
		id = q.Get("run_uuid")
	}
	if err := ValidateRunID(id); err != nil {
		a.fail(w, r, err)
		return
	}
	run, err := a.store.GetRun(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.sendArtifact(w, r, run.Info.ArtifactURI, rel)
}

// getVersionArtifact serves one file of a model version, below its
// download URI.
func (a *api) getVersionArtifact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rel, err := artifact.CleanPath(q.Get("path"))
	if err != nil || rel == "" {
		a.fail(w, r, InvalidParameterf("Invalid path"))
		return
	}
	name, version := q.Get("name"), q.Get("version")
	if err := versionArgs(name, version); err != nil {
		a.fail(w, r, err)
		return
	}
	uri, err := a.downloadURI(r.Context(), name, version)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if uri, err = a.runsURIRoot(r.Context(), uri); err != nil {
		a.fail(w, r, err)
		return
	}
	a.sendArtifact(w, r, uri, rel)
}

// runsURIRoot turns runs:/RUN_ID/sub into the run's artifact URI plus sub;
// other URIs are returned as they are.
func (a *api) runsURIRoot(ctx context.Context, uri string) (string, error) {
	rest, ok := strings.CutPrefix(uri, "runs:/")
	if !ok {
		return uri, nil
	}
	id, sub, _ := strings.Cut(strings.TrimLeft(rest, "/"), "/")
	run, err := a.store.GetRun(ctx, id)
	if err != nil {
		return "", err
	}
	if sub == "" {
		return run.Info.ArtifactURI, nil
	}
	return strings.TrimRight(run.Info.ArtifactURI, "/") + "/" + sub, nil
}

// sendArtifact streams root/rel as an attachment, typed by extension but
// never as HTML or script (the UI shows these files; MLflow sends them as
// text too), with nosniff.
func (a *api) sendArtifact(w http.ResponseWriter, r *http.Request, root, rel string) {
	repo, base, err := a.repoFor(root)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	full := rel
	if base != "" {
		full = base + "/" + rel
	}
	rc, size, err := repo.Open(r.Context(), full)
	if err != nil {
		switch {
		case errors.Is(err, artifact.ErrNotFound):
			a.fail(w, r, NotFoundf("File %s not found", rel))
		case errors.Is(err, artifact.ErrInvalidPath):
			a.fail(w, r, InvalidParameterf("Invalid path"))
		default:
			a.fail(w, r, err)
		}
		return
	}
	defer rc.Close()
	ct := mime.TypeByExtension(path.Ext(rel))
	if ct == "" || strings.Contains(ct, "html") || strings.Contains(ct, "javascript") || strings.Contains(ct, "svg") {
		ct = "text/plain; charset=utf-8"
		if !textLike(rel) {
			ct = "application/octet-stream"
		}
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(rel)}))
	if size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		if _, err := io.Copy(w, rc); err != nil {
			a.log.Warn("get-artifact: copy failed", "path", rel, "err", err)
		}
	}
}

func textLike(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".html", ".htm", ".js", ".mjs", ".svg", ".txt", ".log", ".md", ".py", ".yaml", ".yml", ".json", ".csv", ".tsv", ".xml":
		return true
	}
	return path.Base(p) == "MLmodel"
}
