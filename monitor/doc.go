// Package monitor watches a model after it ships: it keeps a reference
// profile of the data a model was built on (Profile, saved in the model
// directory), and checks a window of current rows against it (Check):
// per-column drift with Evidently's default choice of test, text drift by a
// domain classifier, prediction drift, data quality, realised performance
// where labels are present and NannyML's CBPE estimate where they are not,
// and the segments (attribute-value combinations found by explain's DIFF
// engine) that explain a drift or a rise in errors.
//
// The statistics live in monitor/drift. Bounds: a profile keeps at most
// SampleSize values per numeric column, MaxCategories categories,
// MaxTokens tokens and TextSample texts per text column, and RowSample
// rows of the segment-attribute columns, whatever the size of the
// reference data.
package monitor
