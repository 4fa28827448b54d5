-- +goose Up
-- The API takes Idempotency-Keys of up to 255 characters; the column
-- holds them (a longer column bound is a catalog change, no rewrite).
ALTER TABLE executions ALTER COLUMN idempotency_key TYPE VARCHAR(255);

-- Signed-out page sessions, refused until they expire on every replica
-- and after a restart. Only a SHA-256 of the session id is kept.
CREATE TABLE revoked_sessions (
    tenant_id    VARCHAR(64) NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    session_hash VARCHAR(64) NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, session_hash)
);
CREATE INDEX revoked_sessions_expires_at ON revoked_sessions (tenant_id, expires_at);
ALTER TABLE revoked_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE revoked_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY revoked_sessions_tenant_isolation ON revoked_sessions FOR ALL
    USING (tenant_id = current_setting('app.current_tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.current_tenant_id', true));
CREATE POLICY revoked_sessions_owner ON revoked_sessions FOR ALL TO CURRENT_USER USING (true) WITH CHECK (true);

-- +goose Down
DROP TABLE IF EXISTS revoked_sessions;
ALTER TABLE executions ALTER COLUMN idempotency_key TYPE VARCHAR(200);
