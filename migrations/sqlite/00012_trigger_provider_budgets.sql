-- +goose Up
-- The poll budget of each provider (see the PostgreSQL migration).
CREATE TABLE trigger_provider_budgets (
    provider TEXT    PRIMARY KEY,
    tat_us   INTEGER NOT NULL
);

-- +goose Down
DROP TABLE IF EXISTS trigger_provider_budgets;
