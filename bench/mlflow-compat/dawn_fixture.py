"""pytest plugin: run MLflow's own REST tests against `dawn server`.

Loaded with `-p dawn_fixture` (this directory on PYTHONPATH). It replaces, in MLflow's
tests/tracking/test_rest_tracking.py and tests/tracking/test_model_registry.py, the
fixtures that start MLflow's in-process server (`mlflow_client`, `client`) with ones that
start the dawn binary named by $DAWN_BIN on a free loopback port, with a fresh SQLite
store and artifact directory per test. Test bodies are untouched.

- `store_type` is narrowed to the single param "sqlalchemy": dawn has one (SQL) store,
  so MLflow's "file" parametrisation would only run every test twice.
- Tests that never ask for the server fixture (they drive MLflow's own Flask/FastAPI app
  in-process, or patch its handlers) are skipped as not applicable, with that reason.
- test_gateway_proxy_handler_rejects_invalid_requests is skipped as not applicable: it
  starts MLflow's own server in front of the fixture's one to test MLflow's gateway proxy.
- Tests of the workspaces feature (an addition of the opendatahub fork, not upstream
  MLflow's REST API) are skipped with that reason when the fork provides them.

Environment: DAWN_BIN (required), DAWN_COMPAT_LOGDIR (optional: keep each test's dawn
server log there, named after the test), DAWN_COMPAT_PG (optional: a PostgreSQL server URI
such as postgresql://postgres@127.0.0.1:5432; each test then gets its own new database there,
made with createdb and dropped with dropdb, instead of a SQLite file).
"""

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests

import shims  # noqa: F401  (environment shims; must precede mlflow imports)

SERVER_FIXTURES = {"mlflow_client", "client"}
# Tests that take the server fixture but measure MLflow's own server, not the one under test.
NOT_APPLICABLE = {
    "test_gateway_proxy_handler_rejects_invalid_requests": "starts MLflow's own `mlflow server` "
    "(its AI-gateway proxy) with the fixture's server as backend store",
}
TARGET_FILES = {"test_rest_tracking.py", "test_model_registry.py", "test_client_webhooks.py", "test_e2e.py"}
# tests/webhooks/test_e2e.py: MLflow's webhook end-to-end tests, whose module-scoped
# `mlflow_server` fixture starts `mlflow server` with MLFLOW_WEBHOOK_ALLOWED_SCHEMES=http,
# MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES=3 and MLFLOW_WEBHOOK_REQUEST_TIMEOUT=10; dawn gets the
# same settings as flags. Their receiver (tests/webhooks/app.py) checks signatures with
# MLflow's own verification code.
WEBHOOK_E2E_ARGS = ["--webhook-allowed-schemes", "http", "--webhook-max-retries", "3",
                    "--webhook-timeout", "10s"]


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DawnServer:
    def __init__(self, workdir: Path, name: str, extra_args=()):
        self.extra_args = list(extra_args)
        self.bin = os.environ.get("DAWN_BIN")
        if not self.bin or not os.access(self.bin, os.X_OK):
            pytest.fail(f"DAWN_BIN is not an executable: {self.bin!r}")
        self.workdir = workdir
        self.name = name
        self.proc = None
        self.log_path = workdir / "dawn-server.log"

    def _pg_args(self):
        u = urllib.parse.urlsplit(os.environ["DAWN_COMPAT_PG"])
        args = ["-h", u.hostname or "127.0.0.1", "-p", str(u.port or 5432)]
        if u.username:
            args += ["-U", u.username]
        return u, args

    def _backend_uri(self, data):
        if not os.environ.get("DAWN_COMPAT_PG"):
            return f"sqlite:///{data / 'mlflow.db'}"
        u, args = self._pg_args()
        self.pg_db = "dawncompat_" + uuid.uuid4().hex[:16]
        subprocess.run(["createdb", *args, self.pg_db], check=True, capture_output=True)
        return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + self.pg_db, u.query, ""))

    def __enter__(self):
        data = self.workdir / "dawn-data"
        data.mkdir(parents=True, exist_ok=True)
        self.pg_db = None
        backend_uri = self._backend_uri(data)
        for _ in range(5):
            port = _free_port()
            self.url = f"http://127.0.0.1:{port}"
            self.log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [
                    self.bin, "server",
                    "--host", "127.0.0.1",
                    "--port", str(port),
                    "--data-dir", str(data),
                    "--backend-store-uri", backend_uri,
                    "--artifacts-destination", str(data / "artifacts"),
                    # As MLflow's own fixture: experiments get a plain file://
                    # artifact root under the test's tmp_path.
                    "--default-artifact-root", self.workdir.as_uri(),
                    *self.extra_args,
                ],
                stdout=self.log,
                stderr=subprocess.STDOUT,
                cwd=os.getcwd(),
            )
            deadline = time.time() + 20
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    if requests.get(self.url + "/health", timeout=1).status_code == 200:
                        return self.url
                except requests.RequestException:
                    pass
                time.sleep(0.05)
            self._stop()
        pytest.fail(f"dawn server did not become healthy; log: {self.log_path}")

    def _stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()

    def __exit__(self, *exc):
        self._stop()
        if self.pg_db:
            _, args = self._pg_args()
            subprocess.run(["dropdb", *args, "--force", "--if-exists", self.pg_db],
                           capture_output=True)
        keep = os.environ.get("DAWN_COMPAT_LOGDIR")
        if keep and self.log_path.exists():
            Path(keep).mkdir(parents=True, exist_ok=True)
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name)[:180]
            shutil.copy(self.log_path, Path(keep) / f"{safe}.log")
        return False


def _dawn_client(request, tmp_path, set_registry):
    import mlflow
    from mlflow import MlflowClient

    prev_reg, prev_trk = mlflow.get_registry_uri(), mlflow.get_tracking_uri()
    try:
        with DawnServer(tmp_path, request.node.nodeid) as url:
            if set_registry:
                mlflow.set_registry_uri(url)
            mlflow.set_tracking_uri(url)
            yield MlflowClient(url)
    finally:
        mlflow.set_registry_uri(prev_reg)
        mlflow.set_tracking_uri(prev_trk)


@pytest.fixture(params=["sqlalchemy"])
def dawn_store_type(request):
    return request.param


@pytest.fixture
def dawn_mlflow_client(request, store_type, tmp_path):
    yield from _dawn_client(request, tmp_path, set_registry=True)


@pytest.fixture
def dawn_registry_client(request, tmp_path):
    yield from _dawn_client(request, tmp_path, set_registry=True)


@pytest.fixture(scope="module")
def dawn_webhook_server(request, app_client, tmp_path_factory):
    with DawnServer(tmp_path_factory.mktemp("dawn_server"), request.node.nodeid, WEBHOOK_E2E_ARGS) as url:
        yield url


@pytest.fixture(scope="module")
def dawn_webhook_app(tmp_path_factory):
    """MLflow's receiver app (tests/webhooks/app.py), started as its own `_run_app` does,
    but with the environment shims imported first (it imports mlflow) and a longer wait
    for it to come up."""
    import sys

    e2e = sys.modules["tests.webhooks.test_e2e"]
    tmp = tmp_path_factory.mktemp("app")
    port = e2e.get_safe_port()
    app_path = Path(e2e.__file__).parent / "app.py"
    code = "import runpy, sys, shims; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    with subprocess.Popen([sys.executable, "-c", code, str(app_path), str(port)], cwd=tmp) as prc:
        try:
            url = f"http://localhost:{port}"
            e2e.wait_until_ready(f"{url}/health", max_attempts=90)
            yield e2e.AppClient(url)
        finally:
            prc.terminate()


def _is_webhook_e2e(path):
    return Path(str(path)).name == "test_e2e.py" and Path(str(path)).parent.name == "webhooks"


@pytest.hookimpl(hookwrapper=True)
def pytest_pycollect_makemodule(module_path, parent):
    outcome = yield
    if Path(str(module_path)).name not in TARGET_FILES:
        return
    mod = outcome.get_result()
    m = mod.obj  # import now, so fixtures can be swapped before pytest parses them
    if hasattr(m, "store_type"):
        m.store_type = dawn_store_type
    if hasattr(m, "mlflow_client") and not _is_webhook_e2e(module_path):
        m.mlflow_client = dawn_mlflow_client
    if Path(str(module_path)).name in ("test_model_registry.py", "test_client_webhooks.py") and hasattr(m, "client"):
        m.client = dawn_registry_client
    if _is_webhook_e2e(module_path) and hasattr(m, "mlflow_server"):
        m.mlflow_server = dawn_webhook_server
        m.app_client = dawn_webhook_app


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        if item.path.name not in TARGET_FILES or (item.path.name == "test_e2e.py" and not _is_webhook_e2e(item.path)):
            continue
        if _is_webhook_e2e(item.path):
            continue  # every test there drives the server fixture
        names = set(getattr(item, "fixturenames", ()))
        base = item.name.split("[", 1)[0]
        if base in NOT_APPLICABLE:
            item.add_marker(pytest.mark.skip(reason="dawn-compat: not applicable: "
                                             + NOT_APPLICABLE[base]))
            continue
        if "workspace_mlflow_client" in names or "workspace" in item.name.lower():
            item.add_marker(
                pytest.mark.skip(reason="dawn-compat: workspaces feature of the opendatahub "
                                 "fork, not part of MLflow's REST API")
            )
        elif not (names & SERVER_FIXTURES) and "dawn_mlflow_client" not in names:
            item.add_marker(
                pytest.mark.skip(reason="dawn-compat: not a server test (drives MLflow's own "
                                 "in-process app or handlers, never the server fixture)")
            )
