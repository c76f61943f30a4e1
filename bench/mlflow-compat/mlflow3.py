"""MLflow 3 logged models through the public MLflow API against a running server.

Usage: python3 mlflow3.py http://127.0.0.1:PORT
Runs the same steps against dawn or MLflow's own server; every step prints PASS/FAIL
with the reason, and the last line is "N passed, M failed".
"""

import sys

import shims  # noqa: F401  (environment shims; must precede mlflow imports)

import mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression
from steps import step, summary

state = {}

uri = sys.argv[1]
mlflow.set_tracking_uri(uri)
client = MlflowClient(uri)
X = np.array([[0.0], [1.0], [2.0], [3.0]])
y = np.array([0, 0, 1, 1])


@step("sklearn.log_model in a run (creates a logged model)")
def _():
    mlflow.set_experiment("mlflow3-smoke")
    with mlflow.start_run() as run:
        model = LogisticRegression().fit(X, y)
        info = mlflow.sklearn.log_model(model, name="model")
        mlflow.log_metric("acc", 1.0, model_id=info.model_id)
    state["run_id"], state["model_id"] = run.info.run_id, info.model_id
    assert info.model_id.startswith("m-"), info.model_id


@step("get_logged_model: READY, source run, linked metric")
def _():
    m = client.get_logged_model(state["model_id"])
    assert m.status.to_int() == 2 or str(m.status).endswith("READY"), m.status
    assert m.source_run_id == state["run_id"], m.source_run_id
    assert any(x.key == "acc" for x in (m.metrics or [])), m.metrics


@step("sklearn.load_model(models:/m-<id>) predicts")
def _():
    loaded = mlflow.sklearn.load_model(f"models:/{state['model_id']}")
    assert list(loaded.predict(X)) == [0, 0, 1, 1]


@step("search_logged_models by name and metric")
def _():
    exp = mlflow.get_experiment_by_name("mlflow3-smoke")
    ms = mlflow.search_logged_models(experiment_ids=[exp.experiment_id], filter_string="metrics.acc > 0.5", output_format="list")
    assert [m.model_id for m in ms] == [state["model_id"]], ms


@step("register_model(runs:/<run>/model) resolves to the logged model")
def _():
    mv = mlflow.register_model(f"runs:/{state['run_id']}/model", "smoke-model")
    state["version"] = mv.version
    assert str(mv.version) == "1"
    # The client's ModelVersion drops model_id; the source and the logged
    # model's mlflow.modelVersions tag show what was registered.
    assert mv.source == f"models:/{state['model_id']}", mv.source
    tag = client.get_logged_model(state["model_id"]).tags.get("mlflow.modelVersions", "")
    assert '"name": "smoke-model"' in tag and '"version": 1' in tag, tag


@step("alias and pyfunc.load_model(models:/NAME@alias)")
def _():
    client.set_registered_model_alias("smoke-model", "champion", state["version"])
    loaded = mlflow.pyfunc.load_model("models:/smoke-model@champion")
    assert list(loaded.predict(X)) == [0, 0, 1, 1]


@step("run outputs name the logged model")
def _():
    run = client.get_run(state["run_id"])
    assert [o.model_id for o in run.outputs.model_outputs] == [state["model_id"]], run.outputs


summary()
