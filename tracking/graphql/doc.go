// Package graphql serves MLflow's GraphQL endpoint (/graphql), which
// MLflow's UI uses for runs, experiments, metric histories, artifacts,
// model versions and datasets: MLflow's schema (schema.graphql, with its
// field names, LongString scalar and nullability) and MLflow's answer
// format, {"data": ..., "errors": [messages] or null}, status 200.
//
// The resolvers hold no query logic of their own. Each one is one call of
// the tracking REST API (tracking.NewHandler) made in process with the
// request's context, so what a query reads passes exactly the checks of
// the REST route that serves it: validation, the store's query, and the
// permission check on each object resolved (a run's experiment and model
// versions included). A user who may not read a run through runs/get
// cannot read it through mlflowGetRun either; the field is null and the
// refusal is one of "errors".
//
// Before a document is run it is scanned for MLflow's bounds (depth 10,
// 1,000 fields, 10 root fields, 10 aliases per selection set; the last two
// set by MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS and _MAX_ALIASES), and a
// request is held to a budget of REST calls; docs/limits.md lists them.
package graphql
