package tracking

// Permission is what one MLflow 3 route needs, in the terms of
// tracking/auth's rules table: a resource kind ("Experiment",
// "RegisteredModel", or "" for any signed-in user), the level (READ, EDIT,
// MANAGE) and where the resource comes from.
type Permission struct {
	Kind string
	Need string
	// From says how to find the resource: "experiment_id" (a request
	// field), "model_id" (the logged model's experiment; a path value or
	// field), "run_id" (the run's experiment), "name" (a registered
	// model), or "" (no resource: filter the answer instead).
	From string
}

// MLflow3Rules lists the permission of every route this wave added, keyed
// as tracking/auth keys its rules ("METHOD path after /api/2.0/mlflow/",
// with the ServeMux wildcards the routes are registered with). Logged
// models belong to their experiment. The auth guard answers routes it does
// not know to any signed-in user, so these must be wired into it before a
// server with --auth exposes logged models to users without access to the
// experiment.
var MLflow3Rules = map[string]Permission{
	"POST logged-models":                                 {"Experiment", "EDIT", "experiment_id"},
	"GET logged-models/{model_id}":                       {"Experiment", "READ", "model_id"},
	"PATCH logged-models/{model_id}":                     {"Experiment", "EDIT", "model_id"},
	"DELETE logged-models/{model_id}":                    {"Experiment", "EDIT", "model_id"},
	"PATCH logged-models/{model_id}/tags":                {"Experiment", "EDIT", "model_id"},
	"DELETE logged-models/{model_id}/tags/{tag_key}":     {"Experiment", "EDIT", "model_id"},
	"POST logged-models/{model_id}/params":               {"Experiment", "EDIT", "model_id"},
	"GET logged-models/{model_id}/artifacts/directories": {"Experiment", "READ", "model_id"},
	"GET logged-models/{model_id}/artifacts/files":       {"Experiment", "READ", "model_id"},
	"POST logged-models/search":                          {"", "", ""},                     // filter experiment_ids to readable ones
	"POST experiments/search-datasets":                   {"", "", ""},                     // filter experiment_ids to readable ones
	"POST upload-artifact":                               {"Experiment", "EDIT", "run_id"}, // the run is the run_uuid query parameter
	"POST runs/outputs":                                  {"Experiment", "EDIT", "run_id"},
}
