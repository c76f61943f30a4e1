"""A user's whole MLflow 3 workflow, through MLflow's public Python API only.

Usage: python3 userflow.py http://127.0.0.1:PORT

Runs against dawn server or MLflow's own server. Every step prints PASS/FAIL, and
"OBS <step>: ..." lines with what the step saw, free of ids and times, so the outputs
of the two servers can be compared line by line (diff). The last line is
"N passed, M failed".
"""

import hashlib
import http.server
import json
import sys
import threading
import time

import shims  # noqa: F401  (environment shims; must precede mlflow imports)

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression
from steps import step, summary

state = {}


def obs(what, **kv):
    print(f"OBS {what}: " + " ".join(f"{k}={kv[k]}" for k in sorted(kv)), flush=True)


uri = sys.argv[1]
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
client = MlflowClient(uri)
rng = np.random.default_rng(7)
X = rng.normal(size=(200, 3))
y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=y)


@step("experiment, run, params, metrics, artifacts")
def _():
    exp = mlflow.set_experiment("userflow")
    state["exp"] = exp.experiment_id
    with mlflow.start_run(run_name="manual") as run:
        mlflow.log_param("C", 1.0)
        for i, v in enumerate([0.5, 0.7, 0.9]):
            mlflow.log_metric("acc", v, step=i)
        mlflow.log_text("hello", "notes/hello.txt")
        mlflow.log_dict({"k": 1}, "cfg.json")
    r = client.get_run(run.info.run_id)
    hist = [m.value for m in client.get_metric_history(run.info.run_id, "acc")]
    arts = sorted(a.path for a in client.list_artifacts(run.info.run_id))
    text = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/notes/hello.txt")
    obs("run", status=r.info.status, params=r.data.params, acc=r.data.metrics["acc"], history=hist, artifacts=arts, text=text)
    assert hist == [0.5, 0.7, 0.9] and text == "hello"


@step("sklearn.log_model, load_model, log_input")
def _():
    with mlflow.start_run(run_name="logged") as run:
        model = LogisticRegression().fit(X, y)
        dataset = mlflow.data.from_pandas(df, name="train", targets="label")
        mlflow.log_input(dataset, context="training")
        mlflow.log_metric("acc", float(model.score(X, y)))
        info = mlflow.sklearn.log_model(model, name="model", input_example=X[:2])
    state["run"], state["model_id"] = run.info.run_id, info.model_id
    loaded = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    by_id = mlflow.pyfunc.load_model(f"models:/{info.model_id}")
    r = client.get_run(run.info.run_id)
    ins = [(d.dataset.name, d.dataset.digest, [t.value for t in d.tags]) for d in r.inputs.dataset_inputs]
    obs("log_model", predict=loaded.predict(X[:5]).tolist(), pyfunc=list(np.asarray(by_id.predict(X[:5]))), inputs=ins,
        model_id_prefix=info.model_id[:2])
    assert (loaded.predict(X) == model.predict(X)).all()


# Before any other model version exists: MLflow's server caches each event's webhook
# list (MLFLOW_WEBHOOK_CACHE_TTL, 60 s), so a webhook made after the event first fired
# would wait for that cache to expire.
@step("webhooks: create, deliver on model_version.created, signature")
def _():
    got = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((dict(self.headers), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/hook"
    secret = "userflow-secret-0123456789"
    wh = client.create_webhook(name="userflow-hook", url=url, events=["model_version.created"], secret=secret)
    listed = [w.name for w in client.list_webhooks()]
    client.create_registered_model("userflow-hooked")
    client.create_model_version("userflow-hooked", f"runs:/{state['run']}/model", run_id=state["run"])
    deadline = time.time() + 20
    while not got and time.time() < deadline:
        time.sleep(0.2)
    srv.shutdown()
    assert got, "no delivery within 20 s"
    headers, body = got[0]
    h = {k.lower(): v for k, v in headers.items()}
    from mlflow.webhooks.delivery import _generate_hmac_signature

    want = _generate_hmac_signature(secret, h["x-mlflow-delivery-id"], h["x-mlflow-timestamp"], body.decode())
    p = json.loads(body)
    obs("webhook", listed=listed, entity=p["entity"], action=p["action"], data_keys=sorted(p["data"]),
        name=p["data"].get("name"), signature_ok=h.get("x-mlflow-signature") == want,
        secret_returned=getattr(wh, "secret", None) not in (None, ""), body_sha=len(hashlib.sha256(body).hexdigest()))
    assert h.get("x-mlflow-signature") == want


@step("sklearn.autolog: metrics and a model")
def _():
    mlflow.sklearn.autolog(log_input_examples=False, log_model_signatures=True)
    try:
        with mlflow.start_run(run_name="autolog") as run:
            LogisticRegression(C=0.5).fit(X, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    r = client.get_run(run.info.run_id)
    models = mlflow.search_logged_models(experiment_ids=[state["exp"]], filter_string=f"source_run_id = '{run.info.run_id}'", output_format="list")
    obs("autolog", status=r.info.status, metrics=sorted(r.data.metrics), params=len(r.data.params), models=len(models))
    assert r.data.metrics and models, (r.data.metrics, models)


@step("register_model, alias, pyfunc.load_model(models:/NAME@alias)")
def _():
    mv = mlflow.register_model(f"runs:/{state['run']}/model", "userflow-model")
    client.set_registered_model_alias("userflow-model", "champion", mv.version)
    got = client.get_model_version_by_alias("userflow-model", "champion")
    m = mlflow.pyfunc.load_model("models:/userflow-model@champion")
    obs("registry", version=mv.version, alias_version=got.version, predict=list(np.asarray(m.predict(X[:5]))), model_id=mv.model_id == state["model_id"])
    assert got.version == mv.version


@step("search_runs with a metric filter and order")
def _():
    runs = mlflow.search_runs(experiment_ids=[state["exp"]], filter_string="metrics.acc > 0.5", order_by=["metrics.acc DESC"], output_format="list")
    obs("search_runs", names=[r.info.run_name for r in runs])
    assert runs


@step("tracing: @mlflow.trace, start_span, search_traces")
def _():
    @mlflow.trace(name="add")
    def add(a, b):
        with mlflow.start_span(name="inner") as s:
            s.set_inputs({"a": a})
            s.set_outputs({"twice": 2 * a})
        return a + b

    mlflow.set_experiment("userflow")
    assert add(1, 2) == 3 and add(3, 4) == 7
    mlflow.flush_trace_async_logging() if hasattr(mlflow, "flush_trace_async_logging") else None
    time.sleep(1)
    traces = mlflow.search_traces(experiment_ids=[state["exp"]], return_type="list")
    spans = sorted(sorted(s.name for s in t.data.spans) for t in traces)
    outs = sorted(json.dumps([s.outputs for s in t.data.spans if s.name == "add"]) for t in traces)
    obs("traces", count=len(traces), spans=spans, outputs=outs, states=sorted(str(t.info.state) for t in traces))
    assert len(traces) == 2


@step("genai.evaluate with a custom scorer")
def _():
    from mlflow.genai.scorers import scorer

    @scorer
    def exact(outputs, expectations):
        return outputs == expectations["answer"]

    data = [
        {"inputs": {"q": "2+2"}, "expectations": {"answer": "4"}},
        {"inputs": {"q": "3+3"}, "expectations": {"answer": "6"}},
        {"inputs": {"q": "1+1"}, "expectations": {"answer": "3"}},
    ]

    def predict(q):
        return str(eval(q))  # noqa: S307  (the fixed questions above)

    res = mlflow.genai.evaluate(data=data, predict_fn=predict, scorers=[exact])
    obs("evaluate", metrics={k: round(v, 4) for k, v in sorted(res.metrics.items())})
    assert abs(res.metrics.get("exact/mean", -1) - 2 / 3) < 1e-9, res.metrics


summary()
