-- +goose Up
-- An execution records when its call started (running) and the River job
-- that runs it (asynchronous executions), so that a reconciler can settle
-- records whose job ended or whose host died.
ALTER TABLE executions ADD COLUMN started_at INTEGER;
ALTER TABLE executions ADD COLUMN job_id INTEGER;
CREATE INDEX executions_unsettled ON executions (created_at) WHERE status IN ('pending', 'running');

-- +goose Down
DROP INDEX executions_unsettled;
ALTER TABLE executions DROP COLUMN job_id;
ALTER TABLE executions DROP COLUMN started_at;
