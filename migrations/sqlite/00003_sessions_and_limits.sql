-- +goose Up
-- Signed-out page sessions, refused until they expire, also after a
-- restart. Only a SHA-256 of the session id is kept.
CREATE TABLE revoked_sessions (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    session_hash TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, session_hash)
);
CREATE INDEX revoked_sessions_expires_at ON revoked_sessions (tenant_id, expires_at);

-- +goose Down
DROP TABLE IF EXISTS revoked_sessions;
