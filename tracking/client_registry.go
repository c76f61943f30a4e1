package tracking

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/dawn-ml/dawn/artifact"
)

// This file holds the client calls that resolve and download registered
// and logged models, so that every dawn command that reads a model from a
// tracking server (dawn serve models:/...) goes through one client, with
// its credentials and retries.

// GetModelVersion returns version of the registered model name.
func (c *Client) GetModelVersion(ctx context.Context, name, version string) (*ModelVersion, error) {
	var out struct {
		ModelVersion *ModelVersion `json:"model_version"`
	}
	if err := c.call(ctx, "GET", "model-versions/get", url.Values{"name": {name}, "version": {version}}, &out); err != nil {
		return nil, err
	}
	if out.ModelVersion == nil || out.ModelVersion.Version == "" {
		return nil, fmt.Errorf("tracking: client: model-versions/get %s/%s: the answer names no version", name, version)
	}
	return out.ModelVersion, nil
}

// GetModelVersionByAlias returns the version alias points at.
func (c *Client) GetModelVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error) {
	var out struct {
		ModelVersion *ModelVersion `json:"model_version"`
	}
	if err := c.call(ctx, "GET", "registered-models/alias", url.Values{"name": {name}, "alias": {alias}}, &out); err != nil {
		return nil, err
	}
	if out.ModelVersion == nil || out.ModelVersion.Version == "" {
		return nil, fmt.Errorf("tracking: client: registered-models/alias %s@%s: the answer names no version", name, alias)
	}
	return out.ModelVersion, nil
}

// GetModelVersionDownloadURI returns where a version's files are.
func (c *Client) GetModelVersionDownloadURI(ctx context.Context, name, version string) (string, error) {
	var out struct {
		ArtifactURI string `json:"artifact_uri"`
	}
	err := c.call(ctx, "GET", "model-versions/get-download-uri", url.Values{"name": {name}, "version": {version}}, &out)
	return out.ArtifactURI, err
}

// GetLoggedModel returns an MLflow 3 logged model.
func (c *Client) GetLoggedModel(ctx context.Context, id string) (*LoggedModel, error) {
	var out struct {
		Model *LoggedModel `json:"model"`
	}
	if err := c.call(ctx, "GET", "logged-models/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	if out.Model == nil {
		return nil, fmt.Errorf("tracking: client: logged-models/%s: empty answer", id)
	}
	return out.Model, nil
}

// FindLoggedModel returns the logged model named name that run produced,
// as MLflow's client does for runs:/RUN/NAME when the run has no artifacts
// at NAME; nil when there is none.
func (c *Client) FindLoggedModel(ctx context.Context, experimentID, runID, name string) (*LoggedModel, error) {
	var out struct {
		Models []LoggedModel `json:"models"`
	}
	filter := "source_run_id = '" + strings.ReplaceAll(runID, "'", "") + "' AND name = '" + strings.ReplaceAll(name, "'", "") + "'"
	if err := c.call(ctx, "POST", "logged-models/search", map[string]any{"experiment_ids": []string{experimentID}, "filter": filter,
		"order_by": []any{map[string]any{"field_name": "creation_timestamp", "ascending": false}}, "max_results": 1}, &out); err != nil {
		return nil, err
	}
	if len(out.Models) == 0 {
		return nil, nil
	}
	return &out.Models[0], nil
}

// ListProxyArtifacts lists directory p of the server's artifact proxy
// (mlflow-artifacts:/p).
func (c *Client) ListProxyArtifacts(ctx context.Context, p string) ([]FileInfo, error) {
	var out struct {
		Files []FileInfo `json:"files"`
	}
	err := c.call(ctx, "GET", "/api/2.0/mlflow-artifacts/artifacts", url.Values{"path": {p}}, &out)
	return out.Files, err
}

// DownloadProxyArtifact streams the proxy's file p into w.
func (c *Client) DownloadProxyArtifact(ctx context.Context, p string, w io.Writer) error {
	rc, _, err := c.OpenProxyArtifact(ctx, p)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("tracking: client: download %s: %w", p, err)
	}
	return nil
}

// OpenProxyArtifact opens the proxy's file p for streaming; size is -1
// when the server sends no length. A missing file is artifact.ErrNotFound.
// The caller closes the body.
func (c *Client) OpenProxyArtifact(ctx context.Context, p string) (body io.ReadCloser, size int64, err error) {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/api/2.0/mlflow-artifacts/artifacts/"+strings.Join(segs, "/"), nil)
	if err != nil {
		return nil, 0, fmt.Errorf("tracking: client: download %s: %w", p, err)
	}
	c.auth(req)
	// No overall client timeout: a model file may take long; ctx bounds it.
	res, err := (&http.Client{Transport: c.http.Transport}).Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("tracking: client: download %s: %w", p, err)
	}
	if res.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		res.Body.Close()
		err := fmt.Errorf("tracking: client: download %s: HTTP %d: %s", p, res.StatusCode, strings.TrimSpace(string(raw)))
		if res.StatusCode == http.StatusNotFound {
			err = fmt.Errorf("%w (%w)", err, artifact.ErrNotFound)
		}
		return nil, 0, err
	}
	return res.Body, res.ContentLength, nil
}

// CreateLoggedModel creates an MLflow 3 logged model in the experiment,
// produced by runID ("" for none), as mlflow.<flavor>.log_model does.
func (c *Client) CreateLoggedModel(ctx context.Context, experimentID, name, runID string, params []Param, tags ...Tag) (*LoggedModel, error) {
	var out struct {
		Model *LoggedModel `json:"model"`
	}
	err := c.call(ctx, "POST", "logged-models", map[string]any{"experiment_id": experimentID, "name": name, "source_run_id": runID,
		"params": params, "tags": tags}, &out)
	if err == nil && out.Model == nil {
		err = fmt.Errorf("tracking: client: logged-models: empty answer")
	}
	return out.Model, err
}

// LogLoggedModel logs the model directory dir as a logged model named name
// of run (in the run's experiment): create, upload the files under the
// model's artifact location, mark it READY and record it as the run's
// output, the calls MLflow 3's log_model makes.
func (c *Client) LogLoggedModel(ctx context.Context, run *Run, name, dir string, step int64) (*LoggedModel, error) {
	m, err := c.CreateLoggedModel(ctx, run.Info.ExperimentID, name, run.Info.RunID, nil)
	if err != nil {
		return nil, err
	}
	id := m.Info.ModelID
	if err := c.logArtifactTo(ctx, m.Info.ArtifactURI, dir, ""); err != nil {
		c.call(ctx, "PATCH", "logged-models/"+id, map[string]any{"model_id": id, "status": LoggedModelUploadFailed}, nil)
		return nil, err
	}
	var out struct {
		Model *LoggedModel `json:"model"`
	}
	if err := c.call(ctx, "PATCH", "logged-models/"+id, map[string]any{"model_id": id, "status": LoggedModelReady}, &out); err != nil {
		return nil, err
	}
	if err := c.call(ctx, "POST", "runs/outputs", map[string]any{"run_id": run.Info.RunID, "models": []any{map[string]any{"model_id": id, "step": step}}}, nil); err != nil {
		return nil, err
	}
	return out.Model, nil
}
