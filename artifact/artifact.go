// Package artifact stores run artifacts and model files: the Repo contract,
// a local-directory Repo, and the HTTP handler of MLflow's artifact proxy
// (/api/2.0/mlflow-artifacts/), which streams uploads and downloads without
// holding whole files in memory. artifact/s3 is the object-storage backend.
package artifact

import (
	"context"
	"errors"
	"io"
	"path"
	"strings"
)

// Entry is one item of a listing; Path is relative to the repo root.
type Entry struct {
	Path  string
	IsDir bool
	Size  int64
}

// Repo is an artifact store addressed by slash-separated relative paths,
// already cleaned with CleanPath.
type Repo interface {
	// Put stores r at p, replacing what was there; a partial upload never
	// becomes visible.
	Put(ctx context.Context, p string, r io.Reader) error
	// Open returns the content of p and its size.
	Open(ctx context.Context, p string) (io.ReadCloser, int64, error)
	// List returns the direct children of directory p ("" is the root),
	// sorted by path; a missing directory lists as empty.
	List(ctx context.Context, p string) ([]Entry, error)
	// Delete removes p, a file or a directory tree.
	Delete(ctx context.Context, p string) error
}

// Sentinel errors.
var (
	ErrNotFound    = errors.New("artifact: not found")
	ErrInvalidPath = errors.New("artifact: invalid path")
)

// CleanPath validates a client-supplied artifact path and returns it
// cleaned: no "..", no absolute paths, no backslashes or NUL bytes.
func CleanPath(p string) (string, error) {
	if strings.ContainsAny(p, "\\\x00") {
		return "", ErrInvalidPath
	}
	if strings.HasPrefix(p, "/") {
		return "", ErrInvalidPath
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", ErrInvalidPath
		}
	}
	if p == "" {
		return "", nil
	}
	c := path.Clean(p)
	if c == "." {
		return "", nil
	}
	return c, nil
}

// PartURL is where a client uploads one part of a multipart upload.
type PartURL struct {
	PartNumber int               `json:"part_number"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers,omitempty"`
}

// CompletedPart is a part the client uploaded, with the ETag it got back.
type CompletedPart struct {
	PartNumber int    `json:"part_number"`
	ETag       string `json:"etag"`
	URL        string `json:"url,omitempty"`
}

// Multipart is implemented by repos whose clients can upload large files
// in parts directly to the storage (MLflow's mpu/ endpoints): the server
// hands out presigned part URLs and completes or aborts the upload.
type Multipart interface {
	CreateMultipart(ctx context.Context, p string, numParts int) (uploadID string, parts []PartURL, err error)
	CompleteMultipart(ctx context.Context, p, uploadID string, parts []CompletedPart) error
	AbortMultipart(ctx context.Context, p, uploadID string) error
}
