"""Smoke test: the plain MLflow Python client against a running `dawn server`.

Usage: python3 smoke.py http://127.0.0.1:PORT
Each step runs even if an earlier one failed (where it can); every step prints PASS/FAIL
with the reason, and the last line is "N passed, M failed".
"""

import math
import os
import sys
import tempfile
import time
import traceback

import shims  # noqa: F401  (environment shims; must precede mlflow imports)

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

results = []
state = {}


def step(name):
    def deco(fn):
        try:
            fn()
            results.append((name, True, ""))
            print(f"PASS {name}", flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure and go on
            msg = f"{type(e).__name__}: {e}".replace("\n", " ")[:400]
            results.append((name, False, msg))
            print(f"FAIL {name}: {msg}", flush=True)
            if os.environ.get("SMOKE_TRACEBACK"):
                traceback.print_exc()
        return fn

    return deco


def main(url):
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    client = MlflowClient(url)
    suffix = str(int(time.time() * 1000))
    exp_name = f"smoke-{suffix}"

    @step("create_experiment + get_experiment_by_name")
    def _():
        state["exp"] = mlflow.create_experiment(exp_name, tags={"team": "dawn"})
        exp = mlflow.get_experiment_by_name(exp_name)
        assert exp.experiment_id == state["exp"], (exp.experiment_id, state["exp"])
        assert exp.tags.get("team") == "dawn", exp.tags

    @step("set_experiment")
    def _():
        mlflow.set_experiment(exp_name)

    @step("start_run, log_param/log_metric/set_tag, end_run")
    def _():
        with mlflow.start_run(run_name="smoke-a") as run:
            state["run_a"] = run.info.run_id
            mlflow.log_param("lr", "0.1")
            mlflow.log_params({"depth": 3, "opt": "adam"})
            for s in range(5):
                mlflow.log_metric("acc", 0.5 + 0.1 * s, step=s)
            mlflow.log_metric("loss", 0.25)
            mlflow.set_tag("stage", "dev")
            mlflow.set_tags({"owner": "smoke"})
        r = client.get_run(state["run_a"])
        assert r.info.status == "FINISHED", r.info.status
        assert r.data.params == {"lr": "0.1", "depth": "3", "opt": "adam"}, r.data.params
        assert math.isclose(r.data.metrics["acc"], 0.9), r.data.metrics
        assert r.data.tags["stage"] == "dev" and r.data.tags["owner"] == "smoke", r.data.tags

    @step("log_batch (client) + second run via create_run")
    def _():
        run = client.create_run(state["exp"], run_name="smoke-b")
        state["run_b"] = run.info.run_id
        ts = int(time.time() * 1000)
        client.log_batch(
            state["run_b"],
            metrics=[Metric("acc", 0.3, ts, 0), Metric("acc", 0.95, ts, 1), Metric("loss", 0.1, ts, 0)],
            params=[Param("lr", "0.01")],
            tags=[RunTag("stage", "prod")],
        )
        client.set_terminated(state["run_b"])
        r = client.get_run(state["run_b"])
        assert r.data.metrics["acc"] == 0.95, r.data.metrics
        assert r.data.params["lr"] == "0.01", r.data.params

    @step("param immutability: re-log different value is rejected")
    def _():
        try:
            client.log_param(state["run_b"], "lr", "0.5")
        except mlflow.exceptions.MlflowException as e:
            assert e.error_code == "INVALID_PARAMETER_VALUE", e.error_code
        else:
            raise AssertionError("changing a logged param was accepted")

    @step("search_runs with filter and order_by")
    def _():
        df = mlflow.search_runs(
            experiment_ids=[state["exp"]],
            filter_string="metrics.acc > 0.5 and params.lr != '0.5'",
            order_by=["metrics.acc DESC"],
        )
        assert list(df["run_id"]) == [state["run_b"], state["run_a"]], list(df["run_id"])
        runs = client.search_runs(
            [state["exp"]], "tags.stage = 'dev'", order_by=["attributes.start_time ASC"]
        )
        assert [r.info.run_id for r in runs] == [state["run_a"]], [r.info.run_id for r in runs]
        runs = client.search_runs([state["exp"]], "attributes.run_name LIKE 'smoke-%'", max_results=1)
        assert len(runs) == 1 and runs.token, (len(runs), runs.token)
        runs2 = client.search_runs(
            [state["exp"]], "attributes.run_name LIKE 'smoke-%'", max_results=1, page_token=runs.token
        )
        assert len(runs2) == 1 and runs2[0].info.run_id != runs[0].info.run_id

    @step("get_metric_history")
    def _():
        hist = client.get_metric_history(state["run_a"], "acc")
        assert [m.step for m in hist] == [0, 1, 2, 3, 4], [m.step for m in hist]
        assert math.isclose(hist[-1].value, 0.9)

    @step("log_artifact + list_artifacts + download_artifacts")
    def _():
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "notes.txt")
            with open(p, "w") as f:
                f.write("hello dawn\n")
            client.log_artifact(state["run_a"], p)
            client.log_artifact(state["run_a"], p, artifact_path="sub/dir")
            top = sorted(f.path for f in client.list_artifacts(state["run_a"]))
            assert top == ["notes.txt", "sub"], top
            sub = [f.path for f in client.list_artifacts(state["run_a"], "sub/dir")]
            assert sub == ["sub/dir/notes.txt"], sub
            out = client.download_artifacts(state["run_a"], "sub", d + "/dl")
            with open(os.path.join(out, "dir", "notes.txt")) as f:
                assert f.read() == "hello dawn\n"

    @step("12 MiB artifact round trip with proxy multipart upload enabled")
    def _():
        # The client tries POST mlflow-artifacts/mpu/create first and falls back to one PUT
        # when the server's store does not do multipart; either way the bytes must round-trip.
        env = {
            "MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD": "true",
            "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE": str(1024 * 1024),
            "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE": str(5 * 1024 * 1024),
        }
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            with tempfile.TemporaryDirectory() as d:
                p = os.path.join(d, "big.bin")
                blob = os.urandom(12 * 1024 * 1024)
                with open(p, "wb") as f:
                    f.write(blob)
                client.log_artifact(state["run_b"], p, artifact_path="big")
                out = client.download_artifacts(state["run_b"], "big/big.bin", d + "/dl")
                with open(out, "rb") as f:
                    assert f.read() == blob, "downloaded bytes differ"
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    @step("mlflow.log_text / load_text via runs:/ URI")
    def _():
        with mlflow.start_run(run_id=state["run_b"]):
            mlflow.log_text("x,y\n1,2\n", "data/table.csv")
        txt = mlflow.artifacts.load_text(f"runs:/{state['run_b']}/data/table.csv")
        assert txt == "x,y\n1,2\n", txt

    model = f"smoke-model-{suffix}"

    @step("create_registered_model + create_model_version")
    def _():
        client.create_registered_model(model, tags={"k": "v"}, description="smoke")
        mv = client.create_model_version(model, f"runs:/{state['run_a']}/model", state["run_a"])
        assert mv.version == "1", mv.version
        mv2 = client.create_model_version(model, f"runs:/{state['run_b']}/model", state["run_b"])
        assert mv2.version == "2", mv2.version
        state["versions"] = ["1", "2"]

    @step("mlflow.register_model")
    def _():
        # register_model("runs:/RUN/model") needs RUN's artifacts to hold
        # model/MLmodel (else it looks for a logged model, and MLflow's own
        # server fails the same way), so put a minimal one there first.
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "MLmodel"), "w") as f:
                f.write("flavors: {}\n")
            client.log_artifact(state["run_b"], os.path.join(d, "MLmodel"), artifact_path="model")
        mv = mlflow.register_model(f"runs:/{state['run_b']}/model", model)
        assert mv.version == "3", mv.version
        assert mv.source.endswith(f"/{state['run_b']}/artifacts/model"), mv.source
        state["versions"].append("3")

    @step("set/get registered model alias")
    def _():
        client.set_registered_model_alias(model, "champion", "2")
        mv = client.get_model_version_by_alias(model, "champion")
        assert mv.version == "2", mv.version
        assert "champion" in client.get_registered_model(model).aliases

    @step("transition_model_version_stage + get_latest_versions")
    def _():
        mv = client.transition_model_version_stage(model, "1", "Staging")
        assert mv.current_stage == "Staging", mv.current_stage
        latest = client.get_latest_versions(model, stages=["Staging"])
        assert [m.version for m in latest] == ["1"], [m.version for m in latest]

    @step("search_registered_models (name filter)")
    def _():
        rms = client.search_registered_models(f"name = '{model}'")
        assert [r.name for r in rms] == [model], [r.name for r in rms]

    @step("search_model_versions (name filter)")
    def _():
        mvs = client.search_model_versions(f"name = '{model}'")
        # versions that the steps above created (a failed register_model adds none)
        want = state.get("versions", [])
        assert sorted(m.version for m in mvs) == want, ([m.version for m in mvs], want)

    @step("get_model_version_download_uri")
    def _():
        uri = client.get_model_version_download_uri(model, "1")
        assert uri, uri

    @step("delete_run + restore_run")
    def _():
        client.delete_run(state["run_b"])
        assert client.get_run(state["run_b"]).info.lifecycle_stage == "deleted"
        ids = [r.info.run_id for r in client.search_runs([state["exp"]])]
        assert state["run_b"] not in ids, ids
        client.restore_run(state["run_b"])
        assert client.get_run(state["run_b"]).info.lifecycle_stage == "active"

    @step("error mapping: get_run of unknown id -> RESOURCE_DOES_NOT_EXIST")
    def _():
        try:
            client.get_run("0" * 32)
        except mlflow.exceptions.MlflowException as e:
            assert e.error_code == "RESOURCE_DOES_NOT_EXIST", e.error_code
        else:
            raise AssertionError("no error")

    passed = sum(1 for _, ok, _ in results if ok)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: smoke.py TRACKING_URL", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
