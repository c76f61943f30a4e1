package tracking

import (
	"bufio"
	"errors"
	"net/http"
	"strings"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/internal/httpx"
)

// MaxUploadArtifactBytes bounds one upload-artifact body, as MLflow's 10 MB.
const MaxUploadArtifactBytes = 10 << 20

// uploads serves the UI's upload-artifact.
func (a *api) uploads(add func(method, path string, rule Rule, h endpoint)) {
	add("POST", "upload-artifact", NeedEdit, raw(a.uploadArtifact))
}

// uploadArtifact is the UI's POST upload-artifact?run_uuid=&path= with the
// file as the raw body: it stores the file among the run's artifacts.
func (a *api) uploadArtifact(rule Rule, w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("run_uuid")
	if id == "" {
		a.fail(w, r, InvalidParameterf("Request must specify run_uuid."))
		return
	}
	if err := a.authorize(r.Context(), rule, []Resource{{KindRun, id}}); err != nil {
		a.fail(w, r, err)
		return
	}
	if q.Get("path") == "" {
		a.fail(w, r, InvalidParameterf("Request must specify path."))
		return
	}
	rel, err := artifact.CleanPath(q.Get("path"))
	if err != nil || rel == "" {
		a.fail(w, r, InvalidParameterf("Invalid path: %q", q.Get("path")))
		return
	}
	if r.ContentLength > MaxUploadArtifactBytes {
		a.fail(w, r, InvalidParameterf("Artifact size is too large. Max size is 10MB."))
		return
	}
	body := bufio.NewReader(http.MaxBytesReader(w, r.Body, MaxUploadArtifactBytes))
	if _, err := body.Peek(1); err != nil {
		a.fail(w, r, InvalidParameterf("Request must specify data."))
		return
	}
	run, err := a.store.GetRun(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	repo, base, err := a.artifactRepo(run.Info.ArtifactURI, "write")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	full := strings.TrimPrefix(base+"/"+rel, "/")
	if err := repo.Put(r.Context(), full, body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			a.fail(w, r, InvalidParameterf("Artifact size is too large. Max size is 10MB."))
			return
		}
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, struct{}{})
}
