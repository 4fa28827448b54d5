-- +goose Up
-- Events older than the retention (ATOM_EVENT_RETENTION) are removed with
-- their settled deliveries; an event whose delivery is still pending is
-- kept until it is delivered or dead-lettered.
CREATE INDEX events_created ON events (created_at);
CREATE INDEX deliveries_event ON deliveries (event_id);

-- +goose StatementBegin
CREATE FUNCTION atom_expire_events(p_before timestamptz, p_limit int)
RETURNS int
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH doomed AS (
        SELECT e.id FROM events e
        WHERE e.created_at < p_before
          AND NOT EXISTS (SELECT 1 FROM deliveries d
                          WHERE d.tenant_id = e.tenant_id AND d.event_id = e.id AND d.state = 'pending')
        ORDER BY e.created_at
        LIMIT p_limit
    ), gone AS (
        DELETE FROM events e USING doomed WHERE e.id = doomed.id RETURNING 1
    )
    SELECT count(*)::int FROM gone
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION atom_expire_events(timestamptz, int) FROM PUBLIC;

-- +goose Down
DROP FUNCTION IF EXISTS atom_expire_events(timestamptz, int);
DROP INDEX IF EXISTS deliveries_event;
DROP INDEX IF EXISTS events_created;
