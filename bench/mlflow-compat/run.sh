#!/usr/bin/env bash
# Run MLflow's own REST tests and a client smoke script against `dawn server`.
#
#   bench/mlflow-compat/run.sh MLFLOW_CHECKOUT DAWN_BINARY [OUT_DIR]
#
# MLFLOW_CHECKOUT  an MLflow source tree (mlflow/ and tests/ at its top) that you bring.
# DAWN_BINARY      a built `dawn` binary.
# OUT_DIR          where JUnit XML, pytest output, per-test dawn logs and summary go
#                  (default: a new temp dir).
# Environment:
#   PYTHON     interpreter with Debian's python3 packages (default /usr/bin/python3)
#   OTEL_SRC   an opentelemetry-python source tree at tag v1.27.0 (MLflow 3.x imports
#              opentelemetry-api/-sdk/-proto, which Debian bookworm does not package). Not
#              needed if `opentelemetry.sdk` already imports.
#   ONLY       "registry", "rest", "webhooks" or "smoke" to run just one part ("webhooks":
#              tests/tracking/test_client_webhooks.py and tests/webhooks/test_e2e.py).
#   BASELINE=1 instead run the two test files against MLflow's OWN in-process server (its
#              unmodified fixtures, SQLAlchemy/SQLite variant, workspace tests deselected):
#              the control that shows the environment and shims are sound.
#   PYTEST_ARGS extra pytest arguments, split on spaces (e.g. "-k search", "-x").
#   SERVE_MLFLOW=PORT  run MLflow's own server on 127.0.0.1:PORT in this environment instead
#              (foreground; for bench/tracking/compare.sh).
#   DAWN_COMPAT_PG  e.g. postgresql://postgres@127.0.0.1:5432: run dawn on PostgreSQL, one new
#              database per test (createdb/dropdb must be on PATH); results are named *_pg.
#
# It fetches, installs and builds nothing. It skips (exit 0, with a message) when the
# MLflow checkout, the dawn binary or a Python package is missing. Test failures do not
# make it fail: it is a measurement; read OUT_DIR/summary.txt.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
skip() { echo "mlflow-compat: SKIP: $*"; exit 0; }

[ $# -ge 2 ] || { echo "usage: $0 MLFLOW_CHECKOUT DAWN_BINARY [OUT_DIR]" >&2; exit 2; }
mlflow_src="$(cd "$1" 2>/dev/null && pwd)" || skip "MLflow checkout $1 not found"
dawn_bin="$2"
[ -f "$mlflow_src/mlflow/__init__.py" ] || skip "$mlflow_src is not an MLflow source tree (no mlflow/__init__.py)"
for f in tests/tracking/test_rest_tracking.py tests/tracking/test_model_registry.py tests/conftest.py; do
  [ -f "$mlflow_src/$f" ] || skip "$mlflow_src has no $f"
done
[ -x "$dawn_bin" ] || skip "dawn binary $dawn_bin not found or not executable"
dawn_bin="$(cd "$(dirname "$dawn_bin")" && pwd)/$(basename "$dawn_bin")"
PYTHON="${PYTHON:-/usr/bin/python3}"
command -v "$PYTHON" >/dev/null || skip "no python at $PYTHON"

out="${3:-$(mktemp -d "${TMPDIR:-/tmp}/mlflow-compat.XXXXXX")}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
env_dir="$out/env"
rm -rf "$env_dir"; mkdir -p "$env_dir/site"

# Debian packages MLflow's client and these two test files import.
missing=$("$PYTHON" - <<'PY'
import importlib.util
mods = ["pytest", "pytest_timeout", "requests", "yaml", "pandas", "numpy", "sqlalchemy",
        "alembic", "click", "flask", "flask_cors", "google.protobuf", "cachetools",
        "packaging", "sqlparse", "cloudpickle", "pydantic", "fastapi", "starlette",
        "uvicorn", "graphene", "git", "dotenv", "deprecated", "importlib_metadata",
        "typing_extensions", "psutil"]
print(" ".join(m for m in mods if importlib.util.find_spec(m.split(".")[0]) is None))
PY
)
[ -z "$missing" ] || skip "Python modules missing for $PYTHON: $missing (Debian: apt-get install python3-<name>, see docs/mlflow-compat.md)"

# OpenTelemetry from source when it is not importable.
otel_path=""
if ! "$PYTHON" -c 'import opentelemetry.sdk.trace, opentelemetry.proto.trace.v1.trace_pb2' 2>/dev/null; then
  [ -n "${OTEL_SRC:-}" ] && [ -d "${OTEL_SRC}/opentelemetry-api/src" ] ||
    skip "opentelemetry is not importable and OTEL_SRC (opentelemetry-python v1.27.0 source) is not set"
  for p in api sdk semantic-conventions proto; do
    otel_path="$otel_path:$OTEL_SRC/opentelemetry-$p/src"
  done
  # Distribution metadata (versions and entry points) that an install would have written.
  "$PYTHON" - "$OTEL_SRC" "$env_dir/site" <<'PY'
import pathlib, sys, tomllib
src, site = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for pkg in ["api", "sdk", "semantic-conventions", "proto"]:
    meta = tomllib.loads((src / f"opentelemetry-{pkg}" / "pyproject.toml").read_text())
    name = meta["project"]["name"]
    ver_files = list((src / f"opentelemetry-{pkg}" / "src").rglob("version/__init__.py"))
    ver = "0"
    for line in ver_files[0].read_text().splitlines() if ver_files else []:
        if line.startswith("__version__"):
            ver = line.split("=")[1].strip().strip("\"'")
    d = site / f"{name.replace('-', '_')}-{ver}.dist-info"
    d.mkdir(parents=True, exist_ok=True)
    (d / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {ver}\n")
    eps = meta["project"].get("entry-points", {})
    (d / "entry_points.txt").write_text("".join(
        f"[{g}]\n" + "".join(f"{k} = {v}\n" for k, v in m.items()) + "\n" for g, m in eps.items()))
PY
fi

mlflow_version=$(sed -n 's/^VERSION = "\(.*\)"/\1/p' "$mlflow_src/mlflow/version.py")
d="$env_dir/site/mlflow-${mlflow_version}.dist-info"; mkdir -p "$d"
printf 'Metadata-Version: 2.1\nName: mlflow\nVersion: %s\n' "$mlflow_version" > "$d/METADATA"

# MLflow's pyproject pytest options name pydantic-v2 warning classes that pydantic 1.10
# lacks, so use our own ini (same rootdir, so MLflow's tests/conftest.py still loads).
cat > "$env_dir/pytest.ini" <<'INI'
[pytest]
addopts = -p no:legacypath -p no:cacheprovider
markers =
    asyncio: async test (pytest-asyncio is not installed; such tests are reported as failures)
INI

export PYTHONPATH="$here/stubs:$here:$mlflow_src${otel_path}:$env_dir/site${PYTHONPATH:+:$PYTHONPATH}"
export DAWN_BIN="$dawn_bin" PYTHONDONTWRITEBYTECODE=1
# A spurious 5xx would otherwise be retried for minutes; report it at once.
export MLFLOW_HTTP_REQUEST_MAX_RETRIES=0 MLFLOW_HTTP_REQUEST_TIMEOUT=20
# userflow.py's webhook receiver is plain http on loopback; both servers allow only https
# unless told otherwise (MLflow's variable; dawn honours the same one).
export MLFLOW_WEBHOOK_ALLOWED_SCHEMES=http,https
"$PYTHON" -c 'import shims, mlflow' || skip "mlflow does not import with $PYTHON (see above)"

# SERVE_MLFLOW=PORT: instead of testing, run MLflow's own tracking server (SQLite store and
# artifacts under OUT_DIR) in the foreground with this environment, for bench/tracking's
# side-by-side figures. sitecustomize applies the shims in uvicorn's worker processes too.
if [ -n "${SERVE_MLFLOW:-}" ]; then
  mkdir -p "$env_dir/sitecustomize"
  echo "import shims" > "$env_dir/sitecustomize/sitecustomize.py"
  export PYTHONPATH="$env_dir/sitecustomize:$PYTHONPATH"
  cd "$out"
  exec "$PYTHON" -m mlflow server --backend-store-uri "sqlite:///$out/mlflow.db" \
    --default-artifact-root "$out/mlflow-artifacts" --host 127.0.0.1 --port "$SERVE_MLFLOW" \
    --workers "${MLFLOW_WORKERS:-4}"
fi

echo "mlflow-compat: MLflow $mlflow_version from $mlflow_src"
echo "mlflow-compat: dawn $("$dawn_bin" version 2>/dev/null | head -1) ($dawn_bin)"
echo "mlflow-compat: output in $out"

run_pytest() { # name file
  local name=$1 file=$2
  local plugin=(-p dawn_fixture) sel=()
  [ -z "${DAWN_COMPAT_PG:-}" ] || name="${name}_pg"
  if [ -n "${BASELINE:-}" ]; then
    name="baseline_$name"; plugin=(-p shims); sel=(-k "sqlalchemy and not workspace")
    echo "mlflow-compat: running $file against MLflow's own server (baseline)"
  else
    echo "mlflow-compat: running $file against dawn"
  fi
  (cd "$mlflow_src" && DAWN_COMPAT_LOGDIR="$out/logs/$name" timeout 3000 "$PYTHON" -m pytest \
      -c "$env_dir/pytest.ini" --rootdir "$mlflow_src" "${plugin[@]}" --timeout 90 -q -rfEs \
      "${sel[@]}" --junitxml "$out/$name.xml" ${PYTEST_ARGS:-} "$file" > "$out/$name.txt" 2>&1) || true
  tail -1 "$out/$name.txt"
}
only="${ONLY:-}"
[ -n "$only" ] && [ "$only" != registry ] || run_pytest model_registry tests/tracking/test_model_registry.py
[ -n "$only" ] && [ "$only" != rest ] || run_pytest rest_tracking tests/tracking/test_rest_tracking.py
if [ -z "${BASELINE:-}" ] && { [ -z "$only" ] || [ "$only" = webhooks ]; }; then
  run_pytest client_webhooks tests/tracking/test_client_webhooks.py
  run_pytest webhooks_e2e tests/webhooks/test_e2e.py
fi

# The client scripts against a running server: smoke.py (the MLflow 2 client API), mlflow3.py
# (logged models) and userflow.py (a user's whole MLflow 3 workflow; its OBS lines are what a
# diff of the two servers' outputs compares). Against dawn, or with BASELINE=1 against MLflow's
# own server (started by this script with SERVE_MLFLOW, same environment).
run_clients() { # URL PREFIX
  local url=$1 pre=$2
  echo "mlflow-compat: client scripts against $url"
  for sc in smoke mlflow3 userflow; do
    (cd "$out" && timeout 600 "$PYTHON" "$here/$sc.py" "$url" > "$out/$pre$sc.txt" 2>&1) || true
    grep -E '^(PASS|FAIL) |passed, .* failed' "$out/$pre$sc.txt" || tail -5 "$out/$pre$sc.txt"
  done
  grep '^OBS ' "$out/${pre}userflow.txt" > "$out/${pre}userflow.obs" || true
}
if [ -z "$only" ] || [ "$only" = smoke ]; then
  port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  if [ -n "${BASELINE:-}" ]; then
    rm -rf "$out/mlflow-server"
    SERVE_MLFLOW=$port BASELINE= "$0" "$mlflow_src" "$dawn_bin" "$out/mlflow-server" > "$out/baseline-server.log" 2>&1 &
    pre=baseline_
  else
    mkdir -p "$out/smoke-data"
    "$dawn_bin" server --host 127.0.0.1 --port "$port" --data-dir "$out/smoke-data" > "$out/smoke-server.log" 2>&1 &
    pre=
  fi
  server_pid=$!
  trap 'kill $server_pid 2>/dev/null || true; pkill -f "mlflow server.*--port $port" 2>/dev/null || true' EXIT
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.5
  done
  run_clients "http://127.0.0.1:$port" "$pre"
  kill "$server_pid" 2>/dev/null || true
  pkill -f "mlflow server.*--port $port" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  trap - EXIT
fi

xmls=()
for n in model_registry rest_tracking model_registry_pg rest_tracking_pg client_webhooks webhooks_e2e \
         baseline_model_registry baseline_rest_tracking; do
  [ -f "$out/$n.xml" ] && xmls+=("$out/$n.xml")
done
if [ ${#xmls[@]} -gt 0 ]; then
  "$PYTHON" "$here/summarize.py" "${xmls[@]}" > "$out/summary.txt"
  grep '^==' "$out/summary.txt"
fi
echo "mlflow-compat: details in $out/summary.txt, $out/*.txt, per-test server logs in $out/logs/"
