-- +goose Up
-- One delivery of an event to its tenant's webhook endpoint. A delivery is
-- pending until the endpoint answers 2xx (delivered) or it has used its
-- attempts (dead); lease_until marks the attempt in flight, so another
-- replica takes the delivery over only after the holder died.
CREATE TABLE deliveries (
    id              VARCHAR(64)  PRIMARY KEY,
    tenant_id       VARCHAR(64)  NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    event_id        VARCHAR(64)  NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    source          VARCHAR(200) NOT NULL,
    seq             BIGINT       NOT NULL,
    state           VARCHAR(16)  NOT NULL,
    attempts        INT          NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ  NOT NULL,
    lease_until     TIMESTAMPTZ,
    last_status     INT          NOT NULL DEFAULT 0,
    last_error      TEXT,
    delivered_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ  NOT NULL DEFAULT NOW(),
    updated_at      TIMESTAMPTZ  NOT NULL DEFAULT NOW(),
    UNIQUE (tenant_id, event_id),
    CHECK (state IN ('pending', 'delivered', 'dead'))
);
CREATE INDEX deliveries_source_pending ON deliveries (tenant_id, source, seq) WHERE state = 'pending';
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_tenant_state ON deliveries (tenant_id, state, id);

ALTER TABLE deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY deliveries_tenant_isolation ON deliveries FOR ALL
    USING (tenant_id = current_setting('app.current_tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.current_tenant_id', true));
CREATE POLICY deliveries_owner ON deliveries FOR ALL TO CURRENT_USER USING (true) WITH CHECK (true);

-- Pending deliveries no job is working on: the attempt's lease ran out
-- (its host died mid-attempt), or the attempt is overdue by more than
-- the caller's grace (its job was lost).
-- +goose StatementBegin
CREATE FUNCTION atom_stalled_deliveries(p_now timestamptz, p_overdue timestamptz, p_limit int)
RETURNS TABLE (tenant_id varchar, id varchar)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT d.tenant_id, d.id FROM deliveries d
    WHERE d.state = 'pending'
      AND ((d.lease_until IS NOT NULL AND d.lease_until < p_now)
           OR (d.lease_until IS NULL AND d.next_attempt_at < p_overdue))
    ORDER BY d.next_attempt_at
    LIMIT p_limit
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION atom_stalled_deliveries(timestamptz, timestamptz, int) FROM PUBLIC;

-- +goose Down
DROP FUNCTION IF EXISTS atom_stalled_deliveries(timestamptz, timestamptz, int);
DROP TABLE IF EXISTS deliveries;
