-- +goose Up
-- The per-tenant caps count a tenant's pending executions and live OAuth
-- states on every asynchronous call and connect: these indexes keep each
-- count to the tenant's own rows.
CREATE INDEX executions_tenant_pending ON executions (tenant_id) WHERE status = 'pending';
CREATE INDEX oauth_states_tenant_expires ON oauth_states (tenant_id, expires_at);

-- +goose Down
DROP INDEX executions_tenant_pending;
DROP INDEX oauth_states_tenant_expires;
