-- +goose Up
-- A rotated webhook secret stays valid (deliveries are signed with both)
-- until webhook_prev_expires_at.
ALTER TABLE tenants ADD COLUMN webhook_prev_secret BLOB;
ALTER TABLE tenants ADD COLUMN webhook_prev_key_id TEXT;
ALTER TABLE tenants ADD COLUMN webhook_prev_expires_at INTEGER;

-- +goose Down
ALTER TABLE tenants DROP COLUMN webhook_prev_expires_at;
ALTER TABLE tenants DROP COLUMN webhook_prev_key_id;
ALTER TABLE tenants DROP COLUMN webhook_prev_secret;
