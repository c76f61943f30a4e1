// Package serve answers prediction requests for a dawn model over HTTP in
// MLflow's scoring protocol, so MLflow clients, load balancers and
// deployment tooling work unchanged:
//
//	GET  /ping, /health   200 when a model is loaded
//	GET  /version         the server's version
//	POST /invocations     application/json with exactly one of
//	                      dataframe_split, dataframe_records, instances or
//	                      inputs (plus optional params), or text/csv
//	GET  /metrics         Prometheus metrics (the server's own registry)
//
// Requests are converted into Arrow record batches that match the model's
// input signature (a wrong or missing column is a 400 naming the column),
// and single-row requests arriving together from many clients are
// micro-batched into one Predict call. Responses are MLflow's
// {"predictions": [...]}: for a classifier, one object per row holding
// "label" and "prob_<class>" for each class (and "stage" for a cascade);
// for a regression model, one number per row.
//
// The model can be swapped while serving (Server.Swap): requests already
// admitted finish on the model they started with, new ones go to the new
// model, none is dropped. Follow uses this to track a registry alias.
package serve
