-- +goose Up
-- One row the hosts' readiness probe upserts and commits: a database that
-- answers reads but takes no write (read-only file or database, full
-- disk) fails it. It holds no tenant data.
CREATE TABLE host_heartbeat (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    beat_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE host_heartbeat;
