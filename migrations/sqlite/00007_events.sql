-- +goose Up
-- Events a tenant is told about. pos orders a tenant's events for cursor
-- pulls; seq orders the events of one source. Both come from
-- event_counters inside the inserting transaction.
CREATE TABLE event_counters (
    tenant_id TEXT    NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    source    TEXT    NOT NULL,
    last      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, source)
);

CREATE TABLE events (
    id         TEXT    PRIMARY KEY,
    tenant_id  TEXT    NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    pos        INTEGER NOT NULL,
    source     TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (tenant_id, pos),
    UNIQUE (tenant_id, source, seq)
);

-- +goose Down
DROP TABLE IF EXISTS events;
DROP TABLE IF EXISTS event_counters;
