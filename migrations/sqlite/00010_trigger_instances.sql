-- +goose Up
-- A tenant's trigger instance (see the PostgreSQL migration).
CREATE TABLE trigger_instances (
    id               TEXT    PRIMARY KEY,
    tenant_id        TEXT    NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id    TEXT,
    provider         TEXT    NOT NULL,
    trigger_name     TEXT    NOT NULL,
    kind             TEXT    NOT NULL CHECK (kind IN ('polling', 'webhook', 'app_webhook')),
    input            TEXT    NOT NULL,
    deliver          INTEGER NOT NULL DEFAULT 1,
    state            BLOB,
    registration     BLOB,
    hook_hash        TEXT    UNIQUE,
    account          TEXT,
    status           TEXT    NOT NULL CHECK (status IN ('active', 'needs_reauth', 'disabled', 'failed')),
    last_error       TEXT,
    interval_seconds INTEGER NOT NULL DEFAULT 0,
    next_poll_at     INTEGER,
    lease_until      INTEGER,
    lease_token      TEXT,
    last_polled_at   INTEGER,
    last_event_at    INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX trigger_instances_due ON trigger_instances (next_poll_at)
    WHERE kind = 'polling' AND status IN ('active', 'needs_reauth');
CREATE INDEX trigger_instances_connection ON trigger_instances (tenant_id, connection_id);
CREATE INDEX trigger_instances_account ON trigger_instances (provider, account) WHERE kind = 'app_webhook';
CREATE INDEX events_tenant_source_pos ON events (tenant_id, source, pos);

-- +goose Down
DROP INDEX IF EXISTS events_tenant_source_pos;
DROP TABLE IF EXISTS trigger_instances;
