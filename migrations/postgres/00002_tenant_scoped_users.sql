-- +goose Up
-- User ids are chosen by tenants (X-Atom-User-Id), so they are unique per
-- tenant, not across tenants: a global key let one tenant learn another's
-- user ids (a conflict on create) and reference another tenant's user
-- from its own connections (foreign-key checks bypass row-level security).
ALTER TABLE oauth_states DROP CONSTRAINT oauth_states_user_id_fkey;
ALTER TABLE integration_tokens DROP CONSTRAINT integration_tokens_user_id_fkey;
ALTER TABLE users DROP CONSTRAINT users_pkey;
ALTER TABLE users ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE oauth_states ADD CONSTRAINT oauth_states_user_fkey
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE integration_tokens ADD CONSTRAINT integration_tokens_user_fkey
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE;

-- +goose Down
ALTER TABLE oauth_states DROP CONSTRAINT oauth_states_user_fkey;
ALTER TABLE integration_tokens DROP CONSTRAINT integration_tokens_user_fkey;
ALTER TABLE users DROP CONSTRAINT users_pkey;
ALTER TABLE users ADD PRIMARY KEY (id);
ALTER TABLE oauth_states ADD CONSTRAINT oauth_states_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE integration_tokens ADD CONSTRAINT integration_tokens_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
