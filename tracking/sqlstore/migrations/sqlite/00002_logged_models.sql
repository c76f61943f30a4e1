-- +goose Up
-- MLflow 3 logged models: a model with its own artifact location, owned by
-- an experiment, with params, tags and metrics linked from runs.
CREATE TABLE logged_models (
    model_id TEXT PRIMARY KEY,
    experiment_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    artifact_location TEXT NOT NULL,
    creation_timestamp_ms INTEGER NOT NULL,
    last_updated_timestamp_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active',
    model_type TEXT NOT NULL DEFAULT '',
    source_run_id TEXT NOT NULL DEFAULT '',
    status_message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX logged_models_experiment ON logged_models (experiment_id, creation_timestamp_ms DESC);
CREATE INDEX logged_models_source_run ON logged_models (source_run_id);
CREATE TABLE logged_model_tags (
    model_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;
CREATE TABLE logged_model_params (
    model_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;
CREATE TABLE logged_model_metrics (
    model_id TEXT NOT NULL,
    key TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    step INTEGER NOT NULL,
    value REAL NOT NULL,
    is_nan INTEGER NOT NULL DEFAULT 0,
    run_id TEXT NOT NULL,
    dataset_name TEXT NOT NULL DEFAULT '',
    dataset_digest TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (model_id, key, timestamp, step, run_id, dataset_name, dataset_digest)
) WITHOUT ROWID;
CREATE INDEX logged_model_metrics_key_value ON logged_model_metrics (key, value);
CREATE TABLE run_model_outputs (
    run_uuid TEXT NOT NULL,
    model_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    PRIMARY KEY (run_uuid, model_id)
) WITHOUT ROWID;
CREATE TABLE run_model_inputs (
    run_uuid TEXT NOT NULL,
    model_id TEXT NOT NULL,
    PRIMARY KEY (run_uuid, model_id)
) WITHOUT ROWID;
ALTER TABLE model_versions ADD COLUMN model_id TEXT NOT NULL DEFAULT '';
CREATE INDEX model_versions_model_id ON model_versions (model_id);

-- +goose Down
DROP INDEX model_versions_model_id;
ALTER TABLE model_versions DROP COLUMN model_id;
DROP TABLE run_model_inputs;
DROP TABLE run_model_outputs;
DROP TABLE logged_model_metrics;
DROP TABLE logged_model_params;
DROP TABLE logged_model_tags;
DROP TABLE logged_models;
