-- +goose Up
-- Events a tenant is told about (connection events now; trigger events
-- later). pos orders a tenant's events for cursor pulls; seq orders the
-- events of one source (a connection, a trigger instance). Both come from
-- event_counters rows locked until the inserting transaction commits, so a
-- reader never sees position n+1 committed before n.
CREATE TABLE event_counters (
    tenant_id VARCHAR(64)  NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    source    VARCHAR(200) NOT NULL,
    last      BIGINT       NOT NULL,
    PRIMARY KEY (tenant_id, source)
);

CREATE TABLE events (
    id         VARCHAR(64)  PRIMARY KEY,
    tenant_id  VARCHAR(64)  NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    pos        BIGINT       NOT NULL,
    source     VARCHAR(200) NOT NULL,
    seq        BIGINT       NOT NULL,
    type       VARCHAR(100) NOT NULL,
    payload    JSONB        NOT NULL,
    created_at TIMESTAMPTZ  NOT NULL DEFAULT NOW(),
    UNIQUE (tenant_id, pos),
    UNIQUE (tenant_id, source, seq)
);

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['event_counters','events'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I FOR ALL USING (tenant_id = current_setting(''app.current_tenant_id'', true)) WITH CHECK (tenant_id = current_setting(''app.current_tenant_id'', true))', t || '_tenant_isolation', t);
        EXECUTE format('CREATE POLICY %I ON %I FOR ALL TO CURRENT_USER USING (true) WITH CHECK (true)', t || '_owner', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE IF EXISTS events, event_counters;
