package tracking

import (
	"context"
)

// MaxDatasetSearchExperiments and MaxDatasetSummaries bound
// experiments/search-datasets, as MLflow's server does.
const (
	MaxDatasetSearchExperiments = 20
	MaxDatasetSummaries         = 1000
)

// DatasetSummary is one (experiment, dataset, context) a run logged as input.
type DatasetSummary struct {
	ExperimentID string `json:"experiment_id"`
	Name         string `json:"name"`
	Digest       string `json:"digest"`
	Context      string `json:"context,omitempty"`
}

// datasets serves the UI's experiments/search-datasets.
func (a *api) datasets(add func(method, path string, rule Rule, h endpoint)) {
	add("POST", "experiments/search-datasets", SignedIn, handle(a, func(ctx context.Context, r *struct {
		ExperimentIDs []string `json:"experiment_ids"`
	}) (any, error) {
		if len(r.ExperimentIDs) == 0 {
			return nil, InvalidParameterf("SearchDatasets request must specify at least one experiment_id.")
		}
		if len(r.ExperimentIDs) > MaxDatasetSearchExperiments {
			return nil, InvalidParameterf("SearchDatasets request cannot specify more than %d experiment_ids. Received %d experiment_ids.", MaxDatasetSearchExperiments, len(r.ExperimentIDs))
		}
		ids := make([]string, 0, len(r.ExperimentIDs))
		for _, id := range r.ExperimentIDs {
			if a.visible(ctx, KindExperiment, id) {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return struct{}{}, nil
		}
		sums, err := a.store.SearchDatasetSummaries(ctx, ids, MaxDatasetSummaries)
		if err != nil {
			return nil, err
		}
		return struct {
			Summaries []DatasetSummary `json:"dataset_summaries,omitempty"`
		}{sums}, nil
	}))
}
