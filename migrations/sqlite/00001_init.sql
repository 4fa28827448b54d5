-- +goose Up
-- Times are INTEGER microseconds since the Unix epoch (UTC) so that
-- comparisons and ordering are exact. SQLite has no row-level security:
-- every statement of the sqlite store filters on tenant_id explicitly.

CREATE TABLE tenants (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    webhook_url    TEXT,
    webhook_secret BLOB,
    webhook_key_id TEXT,
    created_at     INTEGER NOT NULL
);

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email      TEXT,
    name       TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE tenant_api_keys (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    prefix       TEXT NOT NULL UNIQUE,
    hash         BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
);

CREATE TABLE oauth_states (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id      TEXT REFERENCES users(id) ON DELETE CASCADE,
    state        TEXT UNIQUE NOT NULL,
    provider     TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    redirect_uri TEXT,
    extra_data   TEXT,
    secret       BLOB,
    key_id       TEXT
);

CREATE TABLE integration_tokens (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id           TEXT REFERENCES users(id) ON DELETE CASCADE,
    workspace_id      TEXT REFERENCES workspaces(id) ON DELETE SET NULL,
    provider          TEXT NOT NULL,
    auth_kind         TEXT NOT NULL,
    credentials       BLOB NOT NULL,
    key_id            TEXT NOT NULL,
    token_type        TEXT DEFAULT 'Bearer',
    expires_at        INTEGER,
    instance_url      TEXT,
    scope             TEXT,
    status            TEXT NOT NULL DEFAULT 'active',
    status_reason     TEXT,
    metadata          TEXT NOT NULL DEFAULT '{}',
    params            TEXT NOT NULL DEFAULT '{}',
    version           INTEGER NOT NULL DEFAULT 1,
    last_refreshed_at INTEGER,
    failure_count     INTEGER NOT NULL DEFAULT 0,
    next_refresh_at   INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
-- SQLite treats NULLs as distinct in UNIQUE constraints; index the
-- coalesced user id so a tenant-wide connection cannot be duplicated.
CREATE UNIQUE INDEX integration_tokens_tenant_provider_user
    ON integration_tokens (tenant_id, provider, COALESCE(user_id, ''));

CREATE TABLE oauth_apps (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    provider      TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    client_secret BLOB NOT NULL,
    key_id        TEXT NOT NULL,
    scopes        TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, provider)
);

CREATE TABLE executions (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id         TEXT,
    provider        TEXT NOT NULL,
    action          TEXT NOT NULL,
    implementation  TEXT NOT NULL,
    status          TEXT NOT NULL,
    idempotency_key TEXT,
    request_hash    TEXT,
    input           TEXT,
    output          TEXT,
    error           TEXT,
    error_code      TEXT,
    duration_ms     INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER
);
CREATE INDEX executions_tenant_created ON executions (tenant_id, id DESC);
CREATE UNIQUE INDEX executions_idempotency ON executions (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE audit_events (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL DEFAULT '',
    details    TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE kv_store (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    provider   TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, provider, key)
);

-- +goose Down
DROP TABLE kv_store;
DROP TABLE audit_events;
DROP TABLE executions;
DROP TABLE oauth_apps;
DROP TABLE integration_tokens;
DROP TABLE oauth_states;
DROP TABLE tenant_api_keys;
DROP TABLE workspaces;
DROP TABLE users;
DROP TABLE tenants;
