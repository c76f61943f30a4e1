-- +goose Up
-- MLflow 3 webhooks and the registry events each one subscribes to. Their
-- messages and delivery attempts are kept in the monitor outbox
-- (monitor_outbox, monitor_deliveries) under the reserved name
-- ':mlflow-webhooks', the receiver being the webhook id. A deleted webhook
-- keeps its row (deleted_ms set) so that its deliveries stay explained.
CREATE TABLE webhooks (
    webhook_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL,
    secret TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'ACTIVE',
    creation_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    deleted_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhooks_listed ON webhooks (deleted_ms, creation_ms);
CREATE TABLE webhook_events (
    webhook_id TEXT NOT NULL REFERENCES webhooks (webhook_id) ON DELETE CASCADE,
    entity TEXT NOT NULL,
    action TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (webhook_id, entity, action)
);
CREATE INDEX webhook_events_event ON webhook_events (entity, action);
CREATE INDEX monitor_deliveries_receiver ON monitor_deliveries (monitor, receiver, time_ms);

-- +goose Down
DROP INDEX monitor_deliveries_receiver;
DROP TABLE webhook_events;
DROP TABLE webhooks;
