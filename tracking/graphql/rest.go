package graphql

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"

	"github.com/dawn-ml/dawn/internal/httpx"
)

// rest calls the tracking REST API in process. Each resolver is one such
// call, made with the GraphQL request's context: the signed-in user, the
// deadline and cancellation travel with it, so every object a query
// resolves passes the same permission check, validation and store query
// as the REST route that serves it.
type rest struct {
	api http.Handler
	// calls counts the REST calls of one GraphQL request, bounded by
	// budget so that nested fields over a large search cannot fan out
	// without end.
	calls  *atomic.Int64
	budget int64
}

// errBudget ends a request that made too many REST calls.
var errBudget = errors.New("graphql: too many REST calls")

// get calls GET path?q (path under /api/2.0/mlflow/) and decodes the
// answer into out.
func (c rest) get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path+"?"+q.Encode(), nil, out)
}

// post calls POST path with body as JSON.
func (c rest) post(ctx context.Context, path string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("graphql: encode %s request: %w", path, err)
	}
	return c.do(ctx, http.MethodPost, path, b, out)
}

func (c rest) do(ctx context.Context, method, path string, body []byte, out any) error {
	if n := c.calls.Add(1); n > c.budget {
		return fmt.Errorf("%w: the query needs more than %d reads; ask for fewer runs or fewer nested fields", errBudget, c.budget)
	}
	req, err := http.NewRequestWithContext(ctx, method, "/api/2.0/mlflow/"+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("graphql: build %s request: %w", path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	c.api.ServeHTTP(rec, req)
	if rec.status != http.StatusOK {
		var e httpx.Body
		if json.Unmarshal(rec.body.Bytes(), &e) != nil || e.Message == "" {
			return &apiError{status: rec.status, msg: fmt.Sprintf("%s answered %d", path, rec.status)}
		}
		return &apiError{status: rec.status, code: e.ErrorCode, msg: e.Message}
	}
	if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
		return fmt.Errorf("graphql: decode %s answer: %w", path, err)
	}
	return nil
}

// apiError is a REST error answer; its message is what MLflow puts in
// "errors" (the text of the MlflowException its resolver raised).
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// recorder is the in-process ResponseWriter of a REST call.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}
