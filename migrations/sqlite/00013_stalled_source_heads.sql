-- +goose Up
-- The stalled-delivery query lists each source's earliest pending
-- delivery only (see the PostgreSQL migration); nothing to change in the
-- schema. A no-op keeps both backends at the same version.
SELECT 1;

-- +goose Down
SELECT 1;
