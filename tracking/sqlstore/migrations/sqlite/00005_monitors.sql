-- +goose Up
-- Continuous monitors (dawn monitor run): position and alert state, the
-- evaluated windows with their reports, an outbox of notifications and
-- every delivery attempt.
CREATE TABLE monitor_state (
    monitor TEXT PRIMARY KEY,
    position TEXT NOT NULL DEFAULT '',
    next_window INTEGER NOT NULL DEFAULT 0,
    alerts TEXT NOT NULL DEFAULT '',
    run_id TEXT NOT NULL DEFAULT '',
    updated_ms INTEGER NOT NULL
);
CREATE TABLE monitor_windows (
    monitor TEXT NOT NULL,
    window_index INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    rows_n INTEGER NOT NULL,
    from_pos TEXT NOT NULL,
    to_pos TEXT NOT NULL,
    report TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (monitor, window_index)
);
CREATE TABLE monitor_outbox (
    monitor TEXT NOT NULL,
    id TEXT NOT NULL,
    receiver TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    closed_ms INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (monitor, id, receiver)
);
CREATE INDEX monitor_outbox_pending ON monitor_outbox (monitor, closed_ms, created_ms);
CREATE TABLE monitor_deliveries (
    monitor TEXT NOT NULL,
    id TEXT NOT NULL,
    receiver TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    status INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    delivered INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX monitor_deliveries_monitor ON monitor_deliveries (monitor, time_ms);

-- +goose Down
DROP TABLE monitor_deliveries;
DROP TABLE monitor_outbox;
DROP TABLE monitor_windows;
DROP TABLE monitor_state;
