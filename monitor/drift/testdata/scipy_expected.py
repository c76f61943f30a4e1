#!/usr/bin/python3
"""Expected values for monitor/drift's statistics, computed with SciPy.

Run with Debian's python3-scipy and python3-numpy (no pip packages):

    python3 monitor/drift/testdata/scipy_expected.py > monitor/drift/testdata/scipy_expected.json

The columns are generated here from fixed seeds and written beside the
expected values, so the Go test (TestSciPy) reads the very same inputs.
"""
import json
import sys
import warnings

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance

warnings.simplefilter("ignore")
rng = np.random.RandomState(20261202)


def col(n, loc=0.0, scale=1.0, ties=False):
    x = np.round(rng.normal(loc, scale, n), 6)
    if ties:
        x = np.round(x * 2) / 2
    return [float(v) for v in x]


def hist_pair(ref, cur):
    """Evidently's binning for numeric columns: Sturges edges over both."""
    both = np.concatenate([ref, cur])
    edges = np.histogram_bin_edges(both, bins="sturges")
    p = np.histogram(ref, edges)[0].astype(float)
    q = np.histogram(cur, edges)[0].astype(float)
    return p, q


def psi(p, q):
    p = p / p.sum()
    q = q / q.sum()
    p = np.where(p == 0, 0.0001, p)
    q = np.where(q == 0, 0.0001, q)
    return float(np.sum((q - p) * np.log(q / p)))


def hellinger(p, q):
    p = p / p.sum()
    q = q / q.sum()
    return float(np.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)) / np.sqrt(2))


out = {"scipy": scipy.__version__, "numpy": np.__version__,
       "ks": [], "chi2": [], "z": [], "wasserstein": [], "hist": [], "anderson": []}

ks_cases = [
    # (n1, n2, shift, scale, ties, method)
    (50, 50, 0.0, 1.0, False, "exact"),
    (50, 50, 0.6, 1.0, False, "exact"),
    (7, 20, 0.0, 1.0, False, "exact"),
    (80, 120, 0.3, 1.0, False, "exact"),
    (300, 500, 0.0, 1.0, False, "exact"),
    (300, 500, 0.2, 1.3, True, "exact"),
    (1000, 1000, 0.1, 1.0, False, "exact"),
    (999, 1000, 0.05, 1.0, False, "auto"),
    (30, 40, 0.0, 1.0, False, "asymp"),
    (30, 40, 1.0, 1.0, False, "asymp"),
    (150, 200, 0.0, 1.0, False, "asymp"),
    (150, 200, 0.3, 1.0, False, "asymp"),
    (150, 200, 0.8, 1.0, False, "asymp"),
    (2000, 3000, 0.0, 1.0, False, "asymp"),
    (2000, 3000, 0.05, 1.0, False, "asymp"),
    (2000, 3000, 0.15, 1.0, False, "asymp"),
    (2000, 3000, 0.0, 1.0, True, "asymp"),
    (400, 10001, 0.1, 1.0, False, "auto"),
    (5, 5, 3.0, 1.0, False, "exact"),
]
for i, (n1, n2, shift, scale, ties, method) in enumerate(ks_cases):
    a = col(n1, ties=ties)
    b = col(n2, shift, scale, ties=ties)
    r = stats.ks_2samp(a, b, method=method)
    out["ks"].append({"a": a, "b": b, "method": method,
                      "statistic": float(r.statistic), "p_value": float(r.pvalue)})
    # The same pair's other statistics.
    out["wasserstein"].append({"case": i, "distance": float(stats.wasserstein_distance(a, b))})
    p, q = hist_pair(np.array(a), np.array(b))
    out["hist"].append({"case": i, "ref_counts": p.tolist(), "cur_counts": q.tolist(),
                        "jensenshannon": float(distance.jensenshannon(p, q)),
                        "psi": psi(p, q), "hellinger": hellinger(p, q)})

cats = ["a", "b", "c", "d", "e"]
chi_cases = [
    (200, 300, [0.4, 0.3, 0.2, 0.05, 0.05], [0.4, 0.3, 0.2, 0.05, 0.05]),
    (200, 300, [0.4, 0.3, 0.2, 0.05, 0.05], [0.3, 0.3, 0.2, 0.1, 0.1]),
    (1000, 500, [0.5, 0.5, 0, 0, 0], [0.45, 0.55, 0, 0, 0]),
    (40, 60, [0.2, 0.2, 0.2, 0.2, 0.2], [0.1, 0.2, 0.3, 0.2, 0.2]),
]
for n1, n2, p1, p2 in chi_cases:
    a = [str(v) for v in rng.choice(cats, n1, p=p1)]
    b = [str(v) for v in rng.choice(cats, n2, p=p2)]
    keys = sorted(set(a) | set(b))
    table = [[a.count(k) for k in keys], [b.count(k) for k in keys]]
    r = stats.chi2_contingency(table)
    pa = np.array(table[0], float)
    pb = np.array(table[1], float)
    out["chi2"].append({"a": a, "b": b, "statistic": float(r[0]), "p_value": float(r[1]),
                        "dof": int(r[2]), "jensenshannon": float(distance.jensenshannon(pa, pb)),
                        "psi": psi(pa, pb), "hellinger": hellinger(pa, pb)})

for n1, n2, p1, p2 in [(500, 400, 0.3, 0.3), (500, 400, 0.3, 0.4), (60, 80, 0.1, 0.25), (1000, 1000, 0.5, 0.52)]:
    k1 = int(rng.binomial(n1, p1))
    k2 = int(rng.binomial(n2, p2))
    P = (k1 + k2) / (n1 + n2)
    z = (k1 / n1 - k2 / n2) / np.sqrt(P * (1 - P) * (1 / n1 + 1 / n2))
    out["z"].append({"k1": k1, "n1": n1, "k2": k2, "n2": n2, "statistic": float(z),
                     "p_value": float(2 * stats.norm.sf(abs(z)))})

ad_cases = [
    [(50, 0.0), (60, 0.0)],
    [(50, 0.0), (60, 0.5)],
    [(200, 0.0), (150, 0.1), (100, 0.0)],
    [(30, 0.0), (30, 2.0)],
    [(100, 0.0), (100, 0.3)],
    [(100, 0.0), (120, 0.35)],
    [(80, 0.0), (80, 0.25), (80, 0.4)],
    [(150, 0.0), (150, 0.25)],
]
for spec in ad_cases:
    for ties in (False, True):
        samples = [col(n, loc, ties=ties) for n, loc in spec]
        r = stats.anderson_ksamp(samples)
        out["anderson"].append({"samples": samples, "statistic": float(r.statistic),
                                "critical": [float(c) for c in r.critical_values],
                                "p_value": float(r.significance_level)})

json.dump(out, sys.stdout, separators=(",", ":"))
sys.stdout.write("\n")
