-- +goose Up
-- User ids are chosen by tenants (X-Atom-User-Id), so they are unique per
-- tenant, not across tenants: a global key let one tenant learn another's
-- user ids (a conflict on create) and reference another tenant's user from
-- its own connections. SQLite cannot change a key in place: the tables are
-- rebuilt, children first, and renamed (renames rewrite the references).
CREATE TABLE users_new (
    id         TEXT NOT NULL,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email      TEXT,
    name       TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
INSERT INTO users_new SELECT id, tenant_id, email, name, created_at FROM users;

CREATE TABLE oauth_states_new (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id      TEXT,
    state        TEXT UNIQUE NOT NULL,
    provider     TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    redirect_uri TEXT,
    extra_data   TEXT,
    secret       BLOB,
    key_id       TEXT,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users_new (tenant_id, id) ON DELETE CASCADE
);
INSERT INTO oauth_states_new SELECT * FROM oauth_states;

CREATE TABLE integration_tokens_new (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id           TEXT,
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
    updated_at        INTEGER NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users_new (tenant_id, id) ON DELETE CASCADE
);
INSERT INTO integration_tokens_new SELECT * FROM integration_tokens;

DROP TABLE integration_tokens;
DROP TABLE oauth_states;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
ALTER TABLE oauth_states_new RENAME TO oauth_states;
ALTER TABLE integration_tokens_new RENAME TO integration_tokens;
CREATE UNIQUE INDEX integration_tokens_tenant_provider_user
    ON integration_tokens (tenant_id, provider, COALESCE(user_id, ''));

-- +goose Down
-- The per-tenant key is kept: a global one cannot be restored once two
-- tenants share a user id.
SELECT 1;
