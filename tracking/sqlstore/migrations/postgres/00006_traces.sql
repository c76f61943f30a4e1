-- +goose Up
-- MLflow 3 tracing: a trace's info, tags and request metadata, its spans
-- (each MLflow's span dictionary as JSON), assessments on it, and links
-- from traces to runs (link-to-run).
CREATE TABLE trace_info (
    request_id TEXT PRIMARY KEY,
    experiment_id BIGINT NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    execution_time_ms BIGINT,
    status TEXT NOT NULL,
    client_request_id TEXT,
    request_preview TEXT,
    response_preview TEXT
);
CREATE INDEX trace_info_experiment ON trace_info (experiment_id, timestamp_ms DESC, request_id);
CREATE TABLE trace_tags (
    request_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (request_id, key)
);
CREATE INDEX trace_tags_key_value ON trace_tags (key, value);
CREATE TABLE trace_request_metadata (
    request_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (request_id, key)
);
CREATE INDEX trace_request_metadata_key_value ON trace_request_metadata (key, value);
CREATE TABLE spans (
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    experiment_id BIGINT NOT NULL,
    parent_span_id TEXT,
    name TEXT NOT NULL,
    type TEXT,
    status TEXT NOT NULL,
    start_time_unix_nano BIGINT NOT NULL,
    end_time_unix_nano BIGINT,
    content TEXT NOT NULL,
    PRIMARY KEY (trace_id, span_id)
);
CREATE TABLE assessments (
    assessment_id TEXT PRIMARY KEY,
    trace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    valid BOOLEAN NOT NULL,
    overrides TEXT,
    created_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX assessments_trace ON assessments (trace_id, created_ms);
CREATE TABLE trace_run_links (
    trace_id TEXT NOT NULL,
    run_uuid TEXT NOT NULL,
    PRIMARY KEY (trace_id, run_uuid)
);
CREATE INDEX trace_run_links_run ON trace_run_links (run_uuid, trace_id);

-- +goose Down
DROP TABLE trace_run_links;
DROP TABLE assessments;
DROP TABLE spans;
DROP TABLE trace_request_metadata;
DROP TABLE trace_tags;
DROP TABLE trace_info;
