-- +goose Up
-- One delivery of an event to its tenant's webhook endpoint (see the
-- PostgreSQL migration).
CREATE TABLE deliveries (
    id              TEXT    PRIMARY KEY,
    tenant_id       TEXT    NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    event_id        TEXT    NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    source          TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    delivered_at    INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (tenant_id, event_id)
);
CREATE INDEX deliveries_source_pending ON deliveries (tenant_id, source, seq) WHERE state = 'pending';
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_tenant_state ON deliveries (tenant_id, state, id);

-- +goose Down
DROP TABLE IF EXISTS deliveries;
