-- +goose Up
-- MLflow 3 evaluation datasets (records of inputs, expectations and
-- outputs, linked to experiments) and scorers (versioned serialized
-- judges registered on an experiment).
CREATE TABLE eval_datasets (
    dataset_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    schema_json TEXT NOT NULL DEFAULT '',
    profile TEXT NOT NULL DEFAULT '',
    digest TEXT NOT NULL,
    created_time BIGINT NOT NULL,
    last_update_time BIGINT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    last_updated_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX eval_datasets_name ON eval_datasets (name);
CREATE INDEX eval_datasets_created ON eval_datasets (created_time);
CREATE TABLE eval_dataset_tags (
    dataset_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (dataset_id, key)
);
CREATE TABLE eval_dataset_experiments (
    dataset_id TEXT NOT NULL,
    experiment_id BIGINT NOT NULL,
    created_time BIGINT NOT NULL,
    PRIMARY KEY (dataset_id, experiment_id)
);
CREATE INDEX eval_dataset_experiments_experiment ON eval_dataset_experiments (experiment_id, dataset_id);
CREATE TABLE eval_dataset_records (
    record_id TEXT PRIMARY KEY,
    dataset_id TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    inputs TEXT NOT NULL,
    outputs TEXT,
    expectations TEXT,
    tags TEXT,
    source TEXT,
    source_id TEXT NOT NULL DEFAULT '',
    source_type TEXT NOT NULL DEFAULT '',
    created_time BIGINT NOT NULL,
    last_update_time BIGINT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    last_updated_by TEXT NOT NULL DEFAULT '',
    UNIQUE (dataset_id, input_hash)
);
CREATE INDEX eval_dataset_records_page ON eval_dataset_records (dataset_id, created_time, record_id);
CREATE TABLE scorers (
    scorer_id TEXT PRIMARY KEY,
    experiment_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (experiment_id, name)
);
CREATE TABLE scorer_versions (
    scorer_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    serialized TEXT NOT NULL,
    creation_time BIGINT NOT NULL,
    PRIMARY KEY (scorer_id, version)
);

-- +goose Down
DROP TABLE scorer_versions;
DROP TABLE scorers;
DROP TABLE eval_dataset_records;
DROP TABLE eval_dataset_experiments;
DROP TABLE eval_dataset_tags;
DROP TABLE eval_datasets;
