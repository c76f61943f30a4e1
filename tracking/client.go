package tracking

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/internal/httpx"
)

// Client talks to an MLflow-compatible tracking server (dawn's or MLflow's)
// over its REST API. It is safe for concurrent use.
type Client struct {
	base     string
	http     *http.Client
	user     string
	password string
	token    string
	retries  int
}

// NewClient returns a client for the server at uri (http://host:port). The
// usual MLflow variables supply credentials: MLFLOW_TRACKING_USERNAME and
// MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN.
func NewClient(uri string) (*Client, error) {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracking: client: tracking URI %q must be http(s)://host[:port]", uri)
	}
	c := &Client{
		base:     strings.TrimSuffix(uri, "/"),
		http:     &http.Client{Timeout: 2 * time.Minute},
		user:     os.Getenv("MLFLOW_TRACKING_USERNAME"),
		password: os.Getenv("MLFLOW_TRACKING_PASSWORD"),
		token:    os.Getenv("MLFLOW_TRACKING_TOKEN"),
		retries:  3,
	}
	if u.User != nil {
		c.user = u.User.Username()
		c.password, _ = u.User.Password()
		u.User = nil
		c.base = strings.TrimSuffix(u.String(), "/")
	}
	return c, nil
}

// URI is the server address.
func (c *Client) URI() string { return c.base }

func (c *Client) auth(req *http.Request) {
	switch {
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	case c.user != "":
		req.SetBasicAuth(c.user, c.password)
	}
}

// retryable reports statuses MLflow's client retries.
func retryable(code int) bool {
	switch code {
	case 408, 429, 500, 502, 503, 504:
		return true
	}
	return false
}

// call sends one API request; out, if not nil, receives the JSON answer.
// Errors from the server come back as *Error with its status and code.
// endpoint is a path under /api/2.0/mlflow/, or an absolute path ("/...").
func (c *Client) call(ctx context.Context, method, endpoint string, in, out any) error {
	var body []byte
	u := c.base + "/api/2.0/mlflow/" + endpoint
	if strings.HasPrefix(endpoint, "/") {
		u = c.base + endpoint
	}
	if method == http.MethodGet {
		if q, ok := in.(url.Values); ok {
			u += "?" + q.Encode()
		}
	} else if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("tracking: client: %s: encode: %w", endpoint, err)
		}
	}
	var lastErr error
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("tracking: client: %s: %w", endpoint, err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		c.auth(req)
		res, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			lastErr = fmt.Errorf("tracking: client: %s: %w", endpoint, err)
			continue
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			lastErr = fmt.Errorf("tracking: client: %s: read: %w", endpoint, err)
			continue
		}
		if res.StatusCode != http.StatusOK {
			var b httpx.Body
			json.Unmarshal(raw, &b)
			if b.ErrorCode == "" {
				b.ErrorCode = http.StatusText(res.StatusCode)
				b.Message = strings.TrimSpace(string(raw))
			}
			lastErr = &Error{Status: res.StatusCode, Code: b.ErrorCode, Message: b.Message}
			if retryable(res.StatusCode) {
				continue
			}
			return fmt.Errorf("tracking: client: %s: %w", endpoint, lastErr)
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return fmt.Errorf("tracking: client: %s: decode response: %w", endpoint, err)
			}
		}
		return nil
	}
	return lastErr
}

// CreateExperiment creates an experiment and returns its id.
func (c *Client) CreateExperiment(ctx context.Context, name string, tags ...Tag) (string, error) {
	var out struct {
		ExperimentID string `json:"experiment_id"`
	}
	err := c.call(ctx, "POST", "experiments/create", map[string]any{"name": name, "tags": tags}, &out)
	return out.ExperimentID, err
}

// GetExperimentByName returns the experiment called name.
func (c *Client) GetExperimentByName(ctx context.Context, name string) (*Experiment, error) {
	var out struct {
		Experiment *Experiment `json:"experiment"`
	}
	if err := c.call(ctx, "GET", "experiments/get-by-name", url.Values{"experiment_name": {name}}, &out); err != nil {
		return nil, err
	}
	return out.Experiment, nil
}

// SetExperiment returns the id of the experiment called name, creating it
// when it does not exist (what MLflow's set_experiment does).
func (c *Client) SetExperiment(ctx context.Context, name string) (string, error) {
	e, err := c.GetExperimentByName(ctx, name)
	if err == nil {
		return e.ExperimentID, nil
	}
	if !errors.Is(err, ErrNotFound) && !isCode(err, CodeResourceDoesNotExist) {
		return "", err
	}
	id, err := c.CreateExperiment(ctx, name)
	if isCode(err, CodeResourceAlreadyExists) {
		// Someone else created it meanwhile.
		if e, err2 := c.GetExperimentByName(ctx, name); err2 == nil {
			return e.ExperimentID, nil
		}
	}
	return id, err
}

// IsCode reports whether err is a tracking server error with this error
// code (CodeResourceDoesNotExist, ...).
func IsCode(err error, code string) bool { return isCode(err, code) }

func isCode(err error, code string) bool {
	var he *Error
	return errors.As(err, &he) && he.Code == code
}

// CreateRun starts a RUNNING run in an experiment.
func (c *Client) CreateRun(ctx context.Context, experimentID, runName string, tags ...Tag) (*Run, error) {
	var out struct {
		Run *Run `json:"run"`
	}
	req := map[string]any{"experiment_id": experimentID, "run_name": runName, "start_time": time.Now().UnixMilli(), "tags": tags}
	if u := os.Getenv("USER"); u != "" {
		req["user_id"] = u
	}
	if err := c.call(ctx, "POST", "runs/create", req, &out); err != nil {
		return nil, err
	}
	return out.Run, nil
}

// GetRun returns a run with its data.
func (c *Client) GetRun(ctx context.Context, runID string) (*Run, error) {
	var out struct {
		Run *Run `json:"run"`
	}
	if err := c.call(ctx, "GET", "runs/get", url.Values{"run_id": {runID}}, &out); err != nil {
		return nil, err
	}
	return out.Run, nil
}

// LogParam logs one immutable param.
func (c *Client) LogParam(ctx context.Context, runID, key, value string) error {
	return c.call(ctx, "POST", "runs/log-parameter", map[string]any{"run_id": runID, "key": key, "value": value}, nil)
}

// LogMetric logs one metric point stamped now.
func (c *Client) LogMetric(ctx context.Context, runID, key string, value float64, step int64) error {
	return c.call(ctx, "POST", "runs/log-metric", map[string]any{"run_id": runID, "key": key, "value": Float(value),
		"timestamp": time.Now().UnixMilli(), "step": step}, nil)
}

// SetTag sets a run tag.
func (c *Client) SetTag(ctx context.Context, runID, key, value string) error {
	return c.call(ctx, "POST", "runs/set-tag", map[string]any{"run_id": runID, "key": key, "value": value}, nil)
}

// LogBatch logs metrics, params and tags, split into requests within the
// server's batch limits.
func (c *Client) LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error {
	for len(metrics) > 0 || len(params) > 0 || len(tags) > 0 {
		np := min(len(params), MaxBatchParams)
		nt := min(len(tags), MaxBatchTags)
		nm := min(len(metrics), MaxBatchEntities-np-nt, MaxBatchMetrics)
		req := map[string]any{"run_id": runID, "metrics": metrics[:nm], "params": params[:np], "tags": tags[:nt]}
		if err := c.call(ctx, "POST", "runs/log-batch", req, nil); err != nil {
			return err
		}
		metrics, params, tags = metrics[nm:], params[np:], tags[nt:]
	}
	return nil
}

// LogInputs records datasets used by a run.
func (c *Client) LogInputs(ctx context.Context, runID string, inputs ...DatasetInput) error {
	return c.call(ctx, "POST", "runs/log-inputs", map[string]any{"run_id": runID, "datasets": inputs}, nil)
}

// SetTerminated ends a run with status (FINISHED, FAILED or KILLED).
func (c *Client) SetTerminated(ctx context.Context, runID, status string) error {
	if status == "" {
		status = StatusFinished
	}
	return c.call(ctx, "POST", "runs/update", map[string]any{"run_id": runID, "status": status, "end_time": time.Now().UnixMilli()}, nil)
}

// SearchRuns returns one page of runs; pass the returned token to continue.
func (c *Client) SearchRuns(ctx context.Context, experimentIDs []string, filter string, orderBy []string, maxResults int, pageToken string) ([]Run, string, error) {
	var out struct {
		Runs          []Run  `json:"runs"`
		NextPageToken string `json:"next_page_token"`
	}
	req := map[string]any{"experiment_ids": experimentIDs, "filter": filter, "order_by": orderBy, "page_token": pageToken}
	if maxResults > 0 {
		req["max_results"] = maxResults
	}
	err := c.call(ctx, "POST", "runs/search", req, &out)
	return out.Runs, out.NextPageToken, err
}

// GetMetricHistory returns every point of a metric, following pages.
func (c *Client) GetMetricHistory(ctx context.Context, runID, key string) ([]Metric, error) {
	var all []Metric
	token := ""
	for {
		var out struct {
			Metrics       []Metric `json:"metrics"`
			NextPageToken string   `json:"next_page_token"`
		}
		q := url.Values{"run_id": {runID}, "metric_key": {key}, "max_results": {"25000"}}
		if token != "" {
			q.Set("page_token", token)
		}
		if err := c.call(ctx, "GET", "metrics/get-history", q, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Metrics...)
		if token = out.NextPageToken; token == "" {
			return all, nil
		}
	}
}

// LogArtifact uploads a local file or directory into the run's artifacts
// under artifactPath ("" is the root). Files stream from disk. Runs whose
// artifact URI is a local directory are written there directly.
func (c *Client) LogArtifact(ctx context.Context, runID, localPath, artifactPath string) error {
	run, err := c.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	return c.logArtifactTo(ctx, run.Info.ArtifactURI, localPath, artifactPath)
}

// logArtifactTo uploads a file or directory under the artifact root URI.
func (c *Client) logArtifactTo(ctx context.Context, root, localPath, artifactPath string) error {
	st, err := os.Stat(localPath)
	if err != nil {
		return fmt.Errorf("tracking: log artifact: %w", err)
	}
	upload := func(file, rel string) error {
		dest := path.Join(artifactPath, rel)
		switch {
		case strings.HasPrefix(root, ProxyScheme):
			return c.putArtifact(ctx, strings.Trim(strings.TrimPrefix(root, ProxyScheme), "/")+"/"+dest, file)
		case strings.HasPrefix(root, "file://") || strings.HasPrefix(root, "/"):
			return copyFile(file, filepath.Join(strings.TrimPrefix(root, "file://"), filepath.FromSlash(dest)))
		}
		return fmt.Errorf("tracking: log artifact: unsupported artifact URI %s", root)
	}
	if !st.IsDir() {
		return upload(localPath, filepath.Base(localPath))
	}
	return filepath.WalkDir(localPath, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(localPath, p)
		if err != nil {
			return err
		}
		return upload(p, filepath.ToSlash(rel))
	})
}

func (c *Client) putArtifact(ctx context.Context, dest, file string) error {
	var lastErr error
	for attempt := 0; attempt <= c.retries; attempt++ {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("tracking: log artifact: %w", err)
		}
		st, _ := f.Stat()
		esc := strings.Split(dest, "/")
		for i := range esc {
			esc[i] = url.PathEscape(esc[i])
		}
		req, err := http.NewRequestWithContext(ctx, "PUT", c.base+"/api/2.0/mlflow-artifacts/artifacts/"+strings.Join(esc, "/"), f)
		if err != nil {
			f.Close()
			return err
		}
		req.ContentLength = st.Size()
		req.Header.Set("Content-Type", "application/octet-stream")
		c.auth(req)
		res, err := (&http.Client{}).Do(req)
		f.Close()
		if err != nil {
			lastErr = fmt.Errorf("tracking: log artifact %s: %w", dest, err)
			continue
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 {
			return nil
		}
		lastErr = fmt.Errorf("tracking: log artifact %s: status %d: %s", dest, res.StatusCode, strings.TrimSpace(string(raw)))
		if !retryable(res.StatusCode) {
			return lastErr
		}
	}
	return lastErr
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// CreateRegisteredModel registers a model name.
func (c *Client) CreateRegisteredModel(ctx context.Context, name, description string, tags ...Tag) (*RegisteredModel, error) {
	var out struct {
		RegisteredModel *RegisteredModel `json:"registered_model"`
	}
	err := c.call(ctx, "POST", "registered-models/create", map[string]any{"name": name, "description": description, "tags": tags}, &out)
	return out.RegisteredModel, err
}

// CreateModelVersion registers source (an artifact URI of a model
// directory) as the next version of name, creating the registered model
// first when needed.
func (c *Client) CreateModelVersion(ctx context.Context, name, source, runID string, tags ...Tag) (*ModelVersion, error) {
	if _, err := c.CreateRegisteredModel(ctx, name, ""); err != nil && !isCode(err, CodeResourceAlreadyExists) {
		return nil, err
	}
	var out struct {
		ModelVersion *ModelVersion `json:"model_version"`
	}
	err := c.call(ctx, "POST", "model-versions/create", map[string]any{"name": name, "source": source, "run_id": runID, "tags": tags}, &out)
	return out.ModelVersion, err
}

// Number returns the version as an integer, 0 when malformed.
func (v *ModelVersion) Number() int {
	n, _ := strconv.Atoi(v.Version)
	return n
}
