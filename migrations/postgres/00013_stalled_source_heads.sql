-- +goose Up
-- A trigger's events get no job each: the replica that recorded them
-- delivers them in order right away, and a failed attempt schedules its
-- own retry. What a dead replica leaves is found here: the earliest
-- pending delivery of each source whose attempt's lease ran out, or that
-- is overdue by more than the caller's grace with no lease. Only the
-- earliest of a source is listed, because the job resuming it goes on
-- with the rest of the source in order.
--
-- The index of pending deliveries by due time goes: the pending set is
-- small, and the sweep reads it whole every few seconds anyway; with it,
-- a plan made while the table was small (a new database) walked every
-- tenant's pending deliveries to find one source's earliest instead of
-- using deliveries_source_pending.
DROP INDEX IF EXISTS deliveries_due;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION atom_stalled_deliveries(p_now timestamptz, p_overdue timestamptz, p_limit int)
RETURNS TABLE (tenant_id varchar, id varchar)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT d.tenant_id, d.id FROM deliveries d
    WHERE d.state = 'pending'
      AND ((d.lease_until IS NOT NULL AND d.lease_until < p_now)
           OR (d.lease_until IS NULL AND d.next_attempt_at < p_overdue))
      AND NOT EXISTS (SELECT 1 FROM deliveries p
                      WHERE p.tenant_id = d.tenant_id AND p.source = d.source
                        AND p.state = 'pending' AND p.seq < d.seq)
    ORDER BY d.next_attempt_at
    LIMIT p_limit
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION atom_stalled_deliveries(timestamptz, timestamptz, int) FROM PUBLIC;

-- +goose Down
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION atom_stalled_deliveries(p_now timestamptz, p_overdue timestamptz, p_limit int)
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
