package tracking

import (
	"context"
	"net/url"
	"strconv"
)

// SearchExperiments returns one page of experiments matching filter (MLflow
// search syntax); view is ACTIVE_ONLY, DELETED_ONLY or ALL ("" is active).
func (c *Client) SearchExperiments(ctx context.Context, filter string, orderBy []string, view string, maxResults int, pageToken string) ([]Experiment, string, error) {
	var out struct {
		Experiments   []Experiment `json:"experiments"`
		NextPageToken string       `json:"next_page_token"`
	}
	req := map[string]any{"filter": filter, "order_by": orderBy, "page_token": pageToken}
	if view != "" {
		req["view_type"] = view
	}
	if maxResults > 0 {
		req["max_results"] = maxResults
	}
	err := c.call(ctx, "POST", "experiments/search", req, &out)
	return out.Experiments, out.NextPageToken, err
}

// GetRegisteredModel returns a registered model with its latest versions
// and aliases.
func (c *Client) GetRegisteredModel(ctx context.Context, name string) (*RegisteredModel, error) {
	var out struct {
		RegisteredModel *RegisteredModel `json:"registered_model"`
	}
	if err := c.call(ctx, "GET", "registered-models/get", url.Values{"name": {name}}, &out); err != nil {
		return nil, err
	}
	return out.RegisteredModel, nil
}

func searchValues(filter string, orderBy []string, maxResults int, pageToken string) url.Values {
	q := url.Values{}
	if filter != "" {
		q.Set("filter", filter)
	}
	for _, o := range orderBy {
		q.Add("order_by", o)
	}
	if maxResults > 0 {
		q.Set("max_results", strconv.Itoa(maxResults))
	}
	if pageToken != "" {
		q.Set("page_token", pageToken)
	}
	return q
}

// SearchRegisteredModels returns one page of registered models.
func (c *Client) SearchRegisteredModels(ctx context.Context, filter string, orderBy []string, maxResults int, pageToken string) ([]RegisteredModel, string, error) {
	var out struct {
		RegisteredModels []RegisteredModel `json:"registered_models"`
		NextPageToken    string            `json:"next_page_token"`
	}
	err := c.call(ctx, "GET", "registered-models/search", searchValues(filter, orderBy, maxResults, pageToken), &out)
	return out.RegisteredModels, out.NextPageToken, err
}

// SearchModelVersions returns one page of model versions, e.g. with the
// filter name='spam'.
func (c *Client) SearchModelVersions(ctx context.Context, filter string, orderBy []string, maxResults int, pageToken string) ([]ModelVersion, string, error) {
	var out struct {
		ModelVersions []ModelVersion `json:"model_versions"`
		NextPageToken string         `json:"next_page_token"`
	}
	err := c.call(ctx, "GET", "model-versions/search", searchValues(filter, orderBy, maxResults, pageToken), &out)
	return out.ModelVersions, out.NextPageToken, err
}

// SetRegisteredModelAlias points alias at version, moving it when it
// pointed elsewhere.
func (c *Client) SetRegisteredModelAlias(ctx context.Context, name, alias, version string) error {
	return c.call(ctx, "POST", "registered-models/alias", map[string]any{"name": name, "alias": alias, "version": version}, nil)
}

// DeleteRegisteredModelAlias removes an alias.
func (c *Client) DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error {
	return c.call(ctx, "DELETE", "registered-models/alias", map[string]any{"name": name, "alias": alias}, nil)
}

// RunSearch is one runs/search request with every field MLflow takes.
type RunSearch struct {
	ExperimentIDs []string
	Filter        string
	OrderBy       []string
	// View is ACTIVE_ONLY, DELETED_ONLY or ALL ("" is active).
	View       string
	MaxResults int
	PageToken  string
}

// FindRuns returns one page of runs for s and the next page token.
func (c *Client) FindRuns(ctx context.Context, s RunSearch) ([]Run, string, error) {
	var out struct {
		Runs          []Run  `json:"runs"`
		NextPageToken string `json:"next_page_token"`
	}
	req := map[string]any{"experiment_ids": s.ExperimentIDs, "filter": s.Filter, "order_by": s.OrderBy, "page_token": s.PageToken}
	if s.View != "" {
		req["run_view_type"] = s.View
	}
	if s.MaxResults > 0 {
		req["max_results"] = s.MaxResults
	}
	err := c.call(ctx, "POST", "runs/search", req, &out)
	return out.Runs, out.NextPageToken, err
}

// ValidateAlias checks an alias name as registered-models/alias does
// ("latest" and v<N> are reserved), for callers that set aliases through
// a Store directly (the web console).
func ValidateAlias(alias string) error { return validateAlias(alias) }
