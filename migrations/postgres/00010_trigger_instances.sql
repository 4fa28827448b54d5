-- +goose Up
-- A tenant's trigger instance: one trigger of a provider, bound to one of
-- the tenant's connections, with its input. A polling instance is polled
-- at next_poll_at by the replica that leased it (lease_until, lease_token);
-- a webhook instance is reached at /api/v1/hooks/{hook id}, of which only
-- the SHA-256 (hook_hash) is kept; an app webhook instance is found by its
-- connection's provider account (account). state (the poll state) and
-- registration (what the provider's webhook registration returned, which
-- may hold a signing secret) are sealed by the host's keyring.
CREATE TABLE trigger_instances (
    id               VARCHAR(64)  PRIMARY KEY,
    tenant_id        VARCHAR(64)  NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id    VARCHAR(64),
    provider         VARCHAR(100) NOT NULL,
    trigger_name     VARCHAR(200) NOT NULL,
    kind             VARCHAR(20)  NOT NULL,
    input            JSONB        NOT NULL,
    deliver          BOOLEAN      NOT NULL DEFAULT TRUE,
    state            BYTEA,
    registration     BYTEA,
    hook_hash        VARCHAR(64)  UNIQUE,
    account          VARCHAR(256),
    status           VARCHAR(20)  NOT NULL,
    last_error       TEXT,
    interval_seconds INT          NOT NULL DEFAULT 0,
    next_poll_at     TIMESTAMPTZ,
    lease_until      TIMESTAMPTZ,
    lease_token      VARCHAR(64),
    last_polled_at   TIMESTAMPTZ,
    last_event_at    TIMESTAMPTZ,
    created_at       TIMESTAMPTZ  NOT NULL DEFAULT NOW(),
    updated_at       TIMESTAMPTZ  NOT NULL DEFAULT NOW(),
    CHECK (kind IN ('polling', 'webhook', 'app_webhook')),
    CHECK (status IN ('active', 'needs_reauth', 'disabled', 'failed'))
);
CREATE INDEX trigger_instances_due ON trigger_instances (next_poll_at)
    WHERE kind = 'polling' AND status IN ('active', 'needs_reauth');
CREATE INDEX trigger_instances_connection ON trigger_instances (tenant_id, connection_id);
CREATE INDEX trigger_instances_account ON trigger_instances (provider, account) WHERE kind = 'app_webhook';
-- The events of one trigger instance, for GET /api/v1/events?trigger=.
CREATE INDEX events_tenant_source_pos ON events (tenant_id, source, pos);

ALTER TABLE trigger_instances ENABLE ROW LEVEL SECURITY;
ALTER TABLE trigger_instances FORCE ROW LEVEL SECURITY;
CREATE POLICY trigger_instances_tenant_isolation ON trigger_instances FOR ALL
    USING (tenant_id = current_setting('app.current_tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.current_tenant_id', true));
CREATE POLICY trigger_instances_owner ON trigger_instances FOR ALL TO CURRENT_USER USING (true) WITH CHECK (true);

-- Claims up to p_limit polling instances that are due and not leased,
-- leasing them until p_until under p_token; replicas claiming at once
-- skip each other's rows.
-- +goose StatementBegin
CREATE FUNCTION atom_claim_due_triggers(p_now timestamptz, p_until timestamptz, p_token varchar, p_limit int)
RETURNS TABLE (tenant_id varchar, id varchar)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE trigger_instances t SET lease_until = p_until, lease_token = p_token
    FROM (SELECT d.id FROM trigger_instances d
          WHERE d.kind = 'polling' AND d.status IN ('active', 'needs_reauth')
            AND d.next_poll_at <= p_now AND (d.lease_until IS NULL OR d.lease_until < p_now)
          ORDER BY d.next_poll_at
          LIMIT p_limit
          FOR UPDATE SKIP LOCKED) due
    WHERE t.id = due.id
    RETURNING t.tenant_id, t.id
$$;
-- +goose StatementEnd

-- The instance a hook URL names, by the SHA-256 of its id.
-- +goose StatementBegin
CREATE FUNCTION atom_trigger_hook(p_hash varchar)
RETURNS TABLE (tenant_id varchar, id varchar)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.tenant_id, t.id FROM trigger_instances t WHERE t.hook_hash = p_hash
$$;
-- +goose StatementEnd

-- The app webhook instances of a provider account, across tenants.
-- +goose StatementBegin
CREATE FUNCTION atom_app_triggers(p_provider varchar, p_account varchar, p_limit int)
RETURNS TABLE (tenant_id varchar, id varchar)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.tenant_id, t.id FROM trigger_instances t
    WHERE t.kind = 'app_webhook' AND t.provider = p_provider AND t.account = p_account AND t.status = 'active'
    ORDER BY t.id
    LIMIT p_limit
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION atom_claim_due_triggers(timestamptz, timestamptz, varchar, int),
    atom_trigger_hook(varchar), atom_app_triggers(varchar, varchar, int) FROM PUBLIC;

-- +goose Down
DROP FUNCTION IF EXISTS atom_app_triggers(varchar, varchar, int);
DROP FUNCTION IF EXISTS atom_trigger_hook(varchar);
DROP FUNCTION IF EXISTS atom_claim_due_triggers(timestamptz, timestamptz, varchar, int);
DROP INDEX IF EXISTS events_tenant_source_pos;
DROP TABLE IF EXISTS trigger_instances;
