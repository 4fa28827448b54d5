-- +goose Up
-- An execution records when its call started (running) and the River job
-- that runs it (asynchronous executions), so that a reconciler can settle
-- records whose job ended or whose host died.
ALTER TABLE executions ADD COLUMN started_at TIMESTAMPTZ;
ALTER TABLE executions ADD COLUMN job_id BIGINT;
CREATE INDEX executions_unsettled ON executions (created_at) WHERE status IN ('pending', 'running');

-- +goose StatementBegin
CREATE FUNCTION atom_unsettled_executions(p_limit int)
RETURNS TABLE (tenant_id varchar, id varchar, status varchar, job_id bigint, started_at timestamptz, created_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT e.tenant_id, e.id, e.status, e.job_id, e.started_at, e.created_at FROM executions e
    WHERE e.status IN ('pending', 'running')
    ORDER BY e.created_at
    LIMIT p_limit
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION atom_unsettled_executions(int) FROM PUBLIC;

-- +goose Down
DROP FUNCTION IF EXISTS atom_unsettled_executions(int);
DROP INDEX executions_unsettled;
ALTER TABLE executions DROP COLUMN job_id;
ALTER TABLE executions DROP COLUMN started_at;
