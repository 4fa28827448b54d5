-- +goose Up
-- Events older than the retention are removed with their settled
-- deliveries (see the PostgreSQL migration).
CREATE INDEX events_created ON events (created_at);
CREATE INDEX deliveries_event ON deliveries (event_id);

-- +goose Down
DROP INDEX IF EXISTS deliveries_event;
DROP INDEX IF EXISTS events_created;
