"""The step runner of the client scripts (mlflow3.py, userflow.py): each step runs once,
prints PASS/FAIL with the reason and a short traceback, and summary() prints the last line,
"N passed, M failed"."""

import sys
import traceback

results = []


def step(name):
    def deco(fn):
        try:
            fn()
            results.append(True)
            print(f"PASS {name}", flush=True)
        except Exception as e:  # noqa: BLE001
            results.append(False)
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc(limit=4, file=sys.stdout)
        return fn

    return deco


def summary():
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
