-- +goose Up
-- The poll budget of each provider, shared by the replicas: a generic
-- cell rate algorithm's theoretical arrival time, in microseconds since
-- the Unix epoch. A poll takes a turn by moving it one emission interval
-- on, unless it is already more than the burst ahead of now. Unlogged:
-- it holds no tenant data, losing it in a crash only resets the budget,
-- and a poll's turn then commits without waiting for the WAL.
CREATE UNLOGGED TABLE trigger_provider_budgets (
    provider VARCHAR(100) PRIMARY KEY,
    tat_us   BIGINT       NOT NULL
);

-- +goose Down
DROP TABLE IF EXISTS trigger_provider_budgets;
