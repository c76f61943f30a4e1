// Package explain finds the attribute combinations that explain outliers,
// after MacroBase (Bailis et al., SIGMOD 2017) and its DIFF operator
// (Abuzaid et al., VLDB 2019).
//
// A run has two steps. A classifier (Percentile, Predicate, MAD, MCD or the
// classic MAD/MCD-then-percentile pipeline) marks each row as an outlier or
// an inlier. An explainer then searches attribute-value combinations of
// order 1 to 3 whose outlier support and ratio pass the thresholds:
//
//	support          = o / O
//	global_ratio     = (o/n) / (O/N)
//	risk_ratio       = (o/n) / ((O-o)/(N-n))
//	prevalence_ratio = (o/(n-o)) / (O/(N-O))
//
// where o and n are the outliers and rows of the combination and O and N the
// totals. The APriori explainer follows MacroBase's KEEP/NEXT/PRUNE rules
// exactly: a combination that passes both thresholds is reported and not
// extended; one that passes support only may be extended; pairs and triples
// are built only from extendable single items, and a triple is reported only
// when its three pairs were extendable. The FP-growth explainer reproduces
// MacroBase's FPGrowthSummarizer, and ExplainMeanShift its count-mean-shift
// summarizer. Annotate and RemoveRedundant add what MacroBase lacks: a
// confidence interval for the risk ratio, each combination's contribution
// to the outliers, and the removal of combinations that a simpler one
// already explains.
//
// Attributes are dictionary-encoded int32 columns (Column). The explainer
// first counts outliers per dictionary code, keeps the values with enough
// support, and then reduces the rows to a cube of distinct combinations of
// the surviving values in one pass over plain slices (a dense array indexed by
// the mixed-radix code when small enough, an open-addressing table otherwise),
// split across cores. Pairs and triples are counted on that cube, so the cost
// per row is a handful of loads and one increment whatever the order.
package explain
