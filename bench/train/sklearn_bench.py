#!/usr/bin/env python3
"""Train scikit-learn's LogisticRegression on the exact hashed features that
bench/train/hashbench wrote (svmlight files), and report the fit time and
test accuracy. Exits 0 with a SKIP line when scikit-learn is absent.

    python3 bench/train/sklearn_bench.py DIR [--json out.json]
"""
import json
import sys
import time

try:
    from sklearn.datasets import load_svmlight_file
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    import sklearn
except ImportError:
    print("SKIP: scikit-learn is not installed (apt-get install python3-sklearn)")
    sys.exit(0)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    d = sys.argv[1]
    out = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--json" else None
    t0 = time.perf_counter()
    X, y = load_svmlight_file(f"{d}/train.svm", n_features=None, zero_based=False)
    Xt, yt = load_svmlight_file(f"{d}/test.svm", n_features=X.shape[1], zero_based=False)
    print(f"loaded {X.shape[0]} x {X.shape[1]} ({X.nnz} nonzeros) in {time.perf_counter() - t0:.1f}s")
    results = []
    models = [
        ("LogisticRegression(lbfgs, C=1)", LogisticRegression(C=1.0, max_iter=100)),
        ("SGDClassifier(log_loss, 5 epochs)", SGDClassifier(loss="log_loss", alpha=1.0 / X.shape[0], max_iter=5, tol=None, random_state=1)),
    ]
    for name, m in models:
        t0, c0 = time.perf_counter(), time.process_time()
        m.fit(X, y)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        acc = float((m.predict(Xt) == yt).mean())
        print(f"{name:36s} fit {dt:7.2f}s wall ({cpu:7.2f}s CPU)  test acc {acc:.4f}")
        results.append({"name": name, "train_seconds": dt, "train_cpu_seconds": cpu, "test_accuracy": acc})
    if out:
        with open(out, "w") as f:
            json.dump({"sklearn": sklearn.__version__, "rows": X.shape[0], "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
