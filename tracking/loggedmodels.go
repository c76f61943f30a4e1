package tracking

import "context"

// searchLoggedModelsReq is MLflow 3's SearchLoggedModels request.
type searchLoggedModelsReq struct {
	ExperimentIDs *[]string `json:"experiment_ids"`
	Filter        string    `json:"filter"`
	Datasets      []struct {
		DatasetName   string `json:"dataset_name"`
		DatasetDigest string `json:"dataset_digest"`
	} `json:"datasets"`
	MaxResults *Int64 `json:"max_results"`
	OrderBy    []struct {
		FieldName     string `json:"field_name"`
		Ascending     *bool  `json:"ascending"`
		DatasetName   string `json:"dataset_name"`
		DatasetDigest string `json:"dataset_digest"`
	} `json:"order_by"`
	PageToken string `json:"page_token"`
}

// loggedModels serves the part of MLflow 3's logged-model API that the
// client calls for everyday work: MlflowClient.list_artifacts(run, "dir")
// and mlflow.register_model("runs:/...") first ask logged-models/search
// whether the path names a logged model. dawn stores no logged models, so
// a valid search answers as MLflow does when there are none: {}.
func (a *api) loggedModels(add func(method, path string, rule Rule, h endpoint)) {
	add("POST", "logged-models/search", SignedIn, handle(a, func(ctx context.Context, r *searchLoggedModelsReq) (any, error) {
		if r.ExperimentIDs == nil {
			return nil, InvalidParameterf("Missing value for required parameter 'experiment_ids'. See the API docs for more information about request parameters.")
		}
		for _, d := range r.Datasets {
			if d.DatasetName == "" {
				return nil, InvalidParameterf("`dataset_name` in the `datasets` clause must be specified.")
			}
		}
		for _, o := range r.OrderBy {
			if o.FieldName == "" {
				return nil, InvalidParameterf("Missing value for required parameter 'order_by.field_name'. See the API docs for more information about request parameters.")
			}
		}
		if r.PageToken != "" {
			// dawn never hands out a logged-model page token.
			return nil, InvalidParameterf("Invalid page token %q for logged models search", r.PageToken)
		}
		return struct {
			Models        []struct{} `json:"models,omitempty"`
			NextPageToken string     `json:"next_page_token,omitempty"`
		}{}, nil
	}))
}
