// Package classic is MacroBase's classic streaming explanation pipeline
// (its legacy BasicOneShotEWStreamingPipeline), for streams whose outliers
// are defined by a robust score rather than a fixed predicate or
// percentile of the raw metric: each row is scored by MAD (one metric) or
// MCD (several) against a model retrained periodically on an
// exponentially damped reservoir of the input; a row is an outlier when
// its score is above a percentile of a damped reservoir of scores; and the
// exponentially decaying emerging-itemsets summarizer (Amortized
// Maintenance Counters for single items, streaming FP-trees for
// combinations) reports the attribute values and combinations with enough
// support and risk ratio.
//
// It reproduces MacroBase's results to the itemset on its own test
// streams, including its quirks (see Pipeline); package stream is the
// modern engine for predicate and percentile classifiers.
package classic
