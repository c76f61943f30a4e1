// Package drift holds the two-sample statistics dawn's monitors use to
// decide whether a column of a current window differs from the reference:
// Kolmogorov–Smirnov (exact and asymptotic p-values, as SciPy's ks_2samp),
// Pearson's χ² on a contingency table (chi2_contingency), the two-proportion
// z-test, Wasserstein-1, Jensen–Shannon distance, PSI, Hellinger distance
// and the Anderson–Darling k-sample test (anderson_ksamp), plus Bonferroni
// and Benjamini–Hochberg adjustment of many p-values.
//
// Every statistic and p-value is checked against SciPy 1.10 to 1e-9 by
// TestSciPy, reading expected values that testdata/scipy_expected.py
// computes with Debian's python3-scipy.
package drift
