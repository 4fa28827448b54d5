-- +goose Up
-- PostgreSQL's executions, events and deliveries lose their foreign keys
-- for triggers (see the PostgreSQL migration). SQLite's checks take no
-- row locks; its keys stay. A no-op keeps both backends at the same
-- version.
SELECT 1;

-- +goose Down
SELECT 1;
