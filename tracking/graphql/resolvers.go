package graphql

import (
	"context"
	"net/url"
	"strconv"
	"sync"

	"github.com/dawn-ml/dawn/tracking"
)

// state is one GraphQL request's: its REST caller and the experiments it
// has read, so the runs of one search share one read of their experiment.
type state struct {
	rest rest
	mu   sync.Mutex
	exps map[string]*expResult
}

type expResult struct {
	once sync.Once
	exp  *experiment
	err  error
}

type stateKey struct{}

func stateOf(ctx context.Context) *state { return ctx.Value(stateKey{}).(*state) }

// experiment reads an experiment once per request.
func (s *state) experiment(ctx context.Context, id string) (*experiment, error) {
	s.mu.Lock()
	r := s.exps[id]
	if r == nil {
		r = &expResult{}
		s.exps[id] = r
	}
	s.mu.Unlock()
	r.once.Do(func() {
		var out struct{ Experiment *tracking.Experiment }
		r.err = s.rest.get(ctx, "experiments/get", url.Values{"experiment_id": {id}}, &out)
		r.exp = experimentOf(out.Experiment)
	})
	return r.exp, r.err
}

// orEmpty is a field's input, an empty one when the query gave none:
// the REST call then answers what is missing.
func orEmpty[T any](in *T) *T {
	if in == nil {
		return new(T)
	}
	return in
}

// resolver is the root of Query and Mutation.
type resolver struct{}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func strs(p *[]*string) []string {
	if p == nil {
		return nil
	}
	out := make([]string, 0, len(*p))
	for _, s := range *p {
		if s != nil {
			out = append(out, *s)
		}
	}
	return out
}

// Arguments of the root fields: MLflow's request messages in camel case.
type (
	getExperimentInput struct{ ExperimentID *string }
	getRunInput        struct{ RunID, RunUUID *string }
	bulkIntervalInput  struct {
		RunIDs                         *[]*string
		MetricKey                      *string
		StartStep, EndStep, MaxResults *int32
	}
	listArtifactsInput       struct{ RunID, RunUUID, Path, PageToken *string }
	searchModelVersionsInput struct {
		Filter     *string
		MaxResults *longString
		OrderBy    *[]*string
		PageToken  *string
	}
	searchRunsInput struct {
		ExperimentIDs *[]*string
		Filter        *string
		RunViewType   *string
		MaxResults    *int32
		OrderBy       *[]*string
		PageToken     *string
	}
	searchDatasetsInput struct{ ExperimentIDs *[]*string }
)

func (resolver) MlflowGetExperiment(ctx context.Context, args struct{ Input *getExperimentInput }) (*getExperimentResponse, error) {
	in := orEmpty(args.Input)
	var out struct{ Experiment *tracking.Experiment }
	if err := stateOf(ctx).rest.get(ctx, "experiments/get", url.Values{"experiment_id": {str(in.ExperimentID)}}, &out); err != nil {
		return nil, err
	}
	return &getExperimentResponse{Experiment: experimentOf(out.Experiment)}, nil
}

func (resolver) MlflowGetRun(ctx context.Context, args struct{ Input *getRunInput }) (*getRunResponse, error) {
	in := orEmpty(args.Input)
	q := url.Values{}
	if in.RunID != nil {
		q.Set("run_id", *in.RunID)
	}
	if in.RunUUID != nil {
		q.Set("run_uuid", *in.RunUUID)
	}
	var out struct{ Run *tracking.Run }
	if err := stateOf(ctx).rest.get(ctx, "runs/get", q, &out); err != nil {
		return nil, err
	}
	return &getRunResponse{Run: runOf(out.Run)}, nil
}

func (resolver) MlflowGetMetricHistoryBulkInterval(ctx context.Context, args struct{ Input *bulkIntervalInput }) (*metricsResponse, error) {
	in := orEmpty(args.Input)
	q := url.Values{"run_ids": strs(in.RunIDs)}
	if in.MetricKey != nil {
		q.Set("metric_key", *in.MetricKey)
	}
	for name, v := range map[string]*int32{"start_step": in.StartStep, "end_step": in.EndStep, "max_results": in.MaxResults} {
		if v != nil {
			q.Set(name, strconv.Itoa(int(*v)))
		}
	}
	var out struct{ Metrics []tracking.Metric }
	if err := stateOf(ctx).rest.get(ctx, "metrics/get-history-bulk-interval", q, &out); err != nil {
		return nil, err
	}
	return &metricsResponse{Metrics: list(out.Metrics, metricOf)}, nil
}

func (resolver) MlflowListArtifacts(ctx context.Context, args struct{ Input *listArtifactsInput }) (*listArtifactsResponse, error) {
	in := orEmpty(args.Input)
	q := url.Values{}
	for name, v := range map[string]*string{"run_id": in.RunID, "run_uuid": in.RunUUID, "path": in.Path, "page_token": in.PageToken} {
		if v != nil {
			q.Set(name, *v)
		}
	}
	var out struct {
		RootURI       string `json:"root_uri"`
		Files         []tracking.FileInfo
		NextPageToken string `json:"next_page_token"`
	}
	if err := stateOf(ctx).rest.get(ctx, "artifacts/list", q, &out); err != nil {
		return nil, err
	}
	return &listArtifactsResponse{RootURI: ptr(out.RootURI), NextPageToken: ptr(out.NextPageToken),
		Files: list(out.Files, func(f tracking.FileInfo) fileInfo {
			return fileInfo{Path: ptr(f.Path), IsDir: ptr(f.IsDir), FileSize: long(f.FileSize)}
		})}, nil
}

func (resolver) MlflowSearchModelVersions(ctx context.Context, args struct{ Input *searchModelVersionsInput }) (*searchModelVersionsResponse, error) {
	in := orEmpty(args.Input)
	q := url.Values{"order_by": strs(in.OrderBy)}
	if in.Filter != nil {
		q.Set("filter", *in.Filter)
	}
	if in.MaxResults != nil {
		q.Set("max_results", strconv.FormatInt(int64(*in.MaxResults), 10))
	}
	if in.PageToken != nil {
		q.Set("page_token", *in.PageToken)
	}
	vs, next, err := searchVersions(ctx, q)
	if err != nil {
		return nil, err
	}
	return &searchModelVersionsResponse{ModelVersions: vs, NextPageToken: ptr(next)}, nil
}

func searchVersions(ctx context.Context, q url.Values) (*[]modelVersion, string, error) {
	var out struct {
		ModelVersions []tracking.ModelVersion `json:"model_versions"`
		NextPageToken string                  `json:"next_page_token"`
	}
	if err := stateOf(ctx).rest.get(ctx, "model-versions/search", q, &out); err != nil {
		return nil, "", err
	}
	return list(out.ModelVersions, versionOf), out.NextPageToken, nil
}

func (resolver) MlflowSearchRuns(ctx context.Context, args struct{ Input *searchRunsInput }) (*searchRunsResponse, error) {
	in := orEmpty(args.Input)
	body := map[string]any{"experiment_ids": strs(in.ExperimentIDs), "filter": str(in.Filter), "order_by": strs(in.OrderBy), "page_token": str(in.PageToken)}
	if in.RunViewType != nil {
		body["run_view_type"] = *in.RunViewType
	}
	if in.MaxResults != nil {
		body["max_results"] = *in.MaxResults
	}
	var out struct {
		Runs          []tracking.Run
		NextPageToken string `json:"next_page_token"`
	}
	if err := stateOf(ctx).rest.post(ctx, "runs/search", body, &out); err != nil {
		return nil, err
	}
	runs := make([]*run, len(out.Runs))
	for i := range out.Runs {
		runs[i] = runOf(&out.Runs[i])
	}
	return &searchRunsResponse{Runs: &runs, NextPageToken: ptr(out.NextPageToken)}, nil
}

func (resolver) MlflowSearchDatasets(ctx context.Context, args struct{ Input *searchDatasetsInput }) (*searchDatasetsResponse, error) {
	in := orEmpty(args.Input)
	var out struct {
		Summaries []tracking.DatasetSummary `json:"dataset_summaries"`
	}
	if err := stateOf(ctx).rest.post(ctx, "experiments/search-datasets", map[string]any{"experiment_ids": strs(in.ExperimentIDs)}, &out); err != nil {
		return nil, err
	}
	return &searchDatasetsResponse{DatasetSummaries: list(out.Summaries, func(d tracking.DatasetSummary) datasetSummary {
		return datasetSummary{ptr(d.ExperimentID), ptr(d.Name), ptr(d.Digest), ptr(d.Context)}
	})}, nil
}

// Test and TestMutation are MLflow's echo fields, which its tests use to
// reach the server's GraphQL endpoint.
func (resolver) Test(args struct{ InputString *string }) *echo {
	return &echo{Output: args.InputString}
}

func (resolver) TestMutation(args struct{ InputString *string }) *echo {
	return &echo{Output: args.InputString}
}

// Experiment is the run's experiment, read with the same check as
// experiments/get.
func (r *run) Experiment(ctx context.Context) (*experiment, error) {
	return stateOf(ctx).experiment(ctx, r.experimentID)
}

// ModelVersions are the versions registered from the run, as MLflow finds
// them: a model-versions/search for run_id='<id>', which shows only the
// versions of models the user may read.
func (r *run) ModelVersions(ctx context.Context) (*[]modelVersion, error) {
	vs, _, err := searchVersions(ctx, url.Values{"filter": {"run_id='" + r.id + "'"}})
	return vs, err
}
