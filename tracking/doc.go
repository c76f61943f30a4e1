// Package tracking is dawn's experiment tracker and model registry, speaking
// MLflow's REST wire format so that MLflow clients work against it unchanged.
//
// The package holds the domain and wire types (which are the same: field
// names follow MLflow's snake_case JSON), the Store contract that the
// backends in tracking/sqlite and tracking/postgres implement, the parser for
// MLflow's search filter and order_by grammar, the HTTP handlers
// (NewHandler) and a Go client (NewClient).
//
// Validation of names, lengths and batch limits happens here, once, before a
// Store is called; stores enforce what needs the database: existence,
// lifecycle state and the immutability of params.
package tracking
