// Package label is dawn's data programming (Snorkel): labeling functions
// written as a YAML file or as Go functions, an applier that runs them all
// over a dataset in one parallel pass into a sparse label Matrix, and
// Snorkel's LF analysis (coverage, overlaps, conflicts, polarity, empirical
// accuracy). The label models that turn a Matrix into probabilistic labels
// live in package labelmodel.
package label
