package artifact

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strconv"

	"github.com/dawn-ml/dawn/internal/httpx"
)

// Prefix is where the artifact proxy is mounted.
const Prefix = "/api/2.0/mlflow-artifacts/"

type fileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize int64  `json:"file_size,omitempty"`
}

// Op is what a proxy request does to the path it names.
type Op int

// The operations, for a Check.
const (
	OpRead Op = iota
	OpWrite
	OpDelete
)

// Check decides whether a request may do op on p, the cleaned path the
// handler is about to use; a non-nil error is the answer to the client.
type Check func(r *http.Request, p string, op Op) error

// Handler serves MLflow's artifact proxy over repo: GET/PUT/DELETE
// artifacts/<path> with raw bodies, and GET artifacts?path= for listings.
// Paths that try to escape the root ("..", absolute) get 400
// INVALID_PARAMETER_VALUE. maxUpload bounds a PUT body (0: no bound).
func Handler(repo Repo, maxUpload int64, log *slog.Logger) http.Handler {
	return GuardedHandler(repo, maxUpload, log, nil)
}

// GuardedHandler is Handler with check (when not nil) called on every
// request with the path and operation the handler will perform, after
// the path is cleaned and before the repo is touched.
func GuardedHandler(repo Repo, maxUpload int64, log *slog.Logger, check Check) http.Handler {
	allowed := func(w http.ResponseWriter, r *http.Request, p string, op Op) bool {
		if check == nil {
			return true
		}
		if err := check(r, p, op); err != nil {
			httpx.WriteError(w, err)
			return false
		}
		return true
	}
	list := func(w http.ResponseWriter, r *http.Request, raw string) {
		p, err := CleanPath(raw)
		if err != nil {
			httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Invalid path"))
			return
		}
		if allowed(w, r, p, OpRead) {
			listDir(w, r, repo, p)
		}
	}
	mux := http.NewServeMux()
	for _, pfx := range []string{Prefix, "/ajax-api/2.0/mlflow-artifacts/"} {
		mux.HandleFunc(pfx+"artifacts", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet {
				httpx.WriteError(w, httpx.Errorf(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "method %s not allowed on artifacts listing", r.Method))
				return
			}
			list(w, r, r.URL.Query().Get("path"))
		})
		mux.HandleFunc(pfx+"artifacts/{path...}", func(w http.ResponseWriter, r *http.Request) {
			p, err := CleanPath(r.PathValue("path"))
			if err != nil {
				httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Invalid path"))
				return
			}
			switch r.Method {
			case http.MethodGet:
				if p == "" {
					list(w, r, r.URL.Query().Get("path"))
					return
				}
				if allowed(w, r, p, OpRead) {
					download(w, r, repo, p)
				}
			case http.MethodPut, http.MethodPost:
				if p == "" {
					httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "artifact path is empty"))
					return
				}
				if !allowed(w, r, p, OpWrite) {
					return
				}
				body := io.Reader(r.Body)
				if maxUpload > 0 {
					body = http.MaxBytesReader(w, r.Body, maxUpload)
				}
				if err := repo.Put(r.Context(), p, body); err != nil {
					var mbe *http.MaxBytesError
					if errors.As(err, &mbe) {
						httpx.WriteError(w, httpx.Errorf(http.StatusRequestEntityTooLarge, "INVALID_PARAMETER_VALUE", "artifact %s exceeds %d bytes", p, maxUpload))
						return
					}
					writeRepoError(w, log, p, err)
					return
				}
				httpx.WriteJSON(w, http.StatusOK, struct{}{})
			case http.MethodDelete:
				if p == "" {
					httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "artifact path is empty"))
					return
				}
				if !allowed(w, r, p, OpDelete) {
					return
				}
				if err := repo.Delete(r.Context(), p); err != nil {
					writeRepoError(w, log, p, err)
					return
				}
				httpx.WriteJSON(w, http.StatusOK, struct{}{})
			default:
				httpx.WriteError(w, httpx.Errorf(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "method %s not allowed on artifacts", r.Method))
			}
		})
		mux.HandleFunc("POST "+pfx+"mpu/{verb}/{path...}", func(w http.ResponseWriter, r *http.Request) {
			multipart(w, r, repo, log, allowed)
		})
	}
	return mux
}

// multipart serves MLflow's mpu/create, mpu/complete and mpu/abort for
// repos that support direct multipart uploads; others answer 501
// NOT_IMPLEMENTED, as MLflow does for a local artifact root.
func multipart(w http.ResponseWriter, r *http.Request, repo Repo, log *slog.Logger, allowed func(http.ResponseWriter, *http.Request, string, Op) bool) {
	p, err := CleanPath(r.PathValue("path"))
	if err != nil || p == "" {
		httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Invalid path"))
		return
	}
	if !allowed(w, r, p, OpWrite) {
		return
	}
	mp, ok := repo.(Multipart)
	if !ok {
		httpx.WriteError(w, httpx.Errorf(http.StatusNotImplemented, "NOT_IMPLEMENTED", "Multipart upload is not supported for the current artifact repository"))
		return
	}
	var req struct {
		NumParts int             `json:"num_parts"`
		UploadID string          `json:"upload_id"`
		Parts    []CompletedPart `json:"parts"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&req); err != nil {
		httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Malformed JSON request body: %v", err))
		return
	}
	switch r.PathValue("verb") {
	case "create":
		id, parts, err := mp.CreateMultipart(r.Context(), p, req.NumParts)
		if err != nil {
			writeRepoError(w, log, p, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"upload_id": id, "credentials": parts})
	case "complete":
		if err := mp.CompleteMultipart(r.Context(), p, req.UploadID, req.Parts); err != nil {
			writeRepoError(w, log, p, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, struct{}{})
	case "abort":
		if err := mp.AbortMultipart(r.Context(), p, req.UploadID); err != nil {
			writeRepoError(w, log, p, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, struct{}{})
	default:
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "ENDPOINT_NOT_FOUND", "No multipart verb %q", r.PathValue("verb")))
	}
}

func writeRepoError(w http.ResponseWriter, log *slog.Logger, p string, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", "File %s not found", p))
	case errors.Is(err, ErrInvalidPath):
		httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Invalid path"))
	default:
		if log != nil {
			log.Error("artifact request failed", "path", p, "err", err)
		}
		httpx.WriteError(w, err)
	}
}

func listDir(w http.ResponseWriter, r *http.Request, repo Repo, p string) {
	entries, err := repo.List(r.Context(), p)
	if err != nil {
		writeRepoError(w, nil, p, err)
		return
	}
	files := make([]fileInfo, 0, len(entries))
	for _, e := range entries {
		files = append(files, fileInfo{Path: path.Base(e.Path), IsDir: e.IsDir, FileSize: e.Size})
	}
	resp := struct {
		Files []fileInfo `json:"files,omitempty"`
	}{files}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

func download(w http.ResponseWriter, r *http.Request, repo Repo, p string) {
	rc, size, err := repo.Open(r.Context(), p)
	if err != nil {
		writeRepoError(w, nil, p, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Content-Disposition", "attachment; filename="+strconv.Quote(path.Base(p)))
	w.WriteHeader(http.StatusOK)
	io.Copy(w, rc)
}
