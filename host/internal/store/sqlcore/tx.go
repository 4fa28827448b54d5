package sqlcore

import (
	"context"
	"fmt"
	"time"

	"github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/store"
)

// Tx implements store.Tx over a Querier.
type Tx struct {
	q      Querier
	d      Dialect
	tenant string
	now    func() time.Time
	// keys is cleared on revocation; revoked records one.
	keys    *KeyCache
	revoked bool
}

var _ store.Tx = (*Tx)(nil)

// NewTx binds a transaction to a tenant.
func NewTx(q Querier, d Dialect, tenantID string) *Tx {
	return &Tx{q: q, d: d, tenant: tenantID, now: func() time.Time { return time.Now().UTC() }}
}

// WithKeyCache makes RevokeAPIKey clear c; the store clears it again after
// the commit when RevokedKeys reports a revocation.
func (t *Tx) WithKeyCache(c *KeyCache) *Tx {
	t.keys = c
	return t
}

// RevokedKeys reports whether the transaction revoked an API key.
func (t *Tx) RevokedKeys() bool { return t.revoked }

// Native returns the backend's own transaction (pgx.Tx, *sql.Tx), so a
// job queue on the same database can insert in it; nil when the querier
// has none (a batch).
func (t *Tx) Native() any {
	if n, ok := t.q.(interface{ Native() any }); ok {
		return n.Native()
	}
	return nil
}

// TenantID returns the transaction's tenant.
func (t *Tx) TenantID() string { return t.tenant }

func (t *Tx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	n, err := t.q.Exec(ctx, t.d.Rebind(q), args...)
	return n, t.classify(err)
}

// execOne runs a statement that must touch a row of the tenant;
// store.ErrNotFound when it touched none.
func (t *Tx) execOne(ctx context.Context, q string, args ...any) error {
	n, err := t.exec(ctx, q, args...)
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}

func (t *Tx) row(ctx context.Context, q string, args ...any) Row {
	return t.q.QueryRow(ctx, t.d.Rebind(q), args...)
}

func (t *Tx) classify(err error) error {
	switch {
	case err == nil:
		return nil
	case t.d.IsNoRows(err):
		return store.ErrNotFound
	case t.d.IsUnique(err):
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	}
	return err
}

// readMap decodes a JSON string map column.
func (t *Tx) readMap(b []byte) (map[string]string, error) {
	b, err := t.d.ReadJSON(b)
	if err != nil {
		return nil, err
	}
	return ParseMap(b)
}

func (t *Tx) tm(v time.Time) any { return t.d.Time(v.UTC()) }

func (t *Tx) tmp(v *time.Time) any {
	if v == nil {
		return nil
	}
	return t.d.Time(v.UTC())
}

// CreateTenant inserts the transaction's tenant.
func (t *Tx) CreateTenant(ctx context.Context, tn *store.Tenant) error {
	if tn.ID != t.tenant {
		return fmt.Errorf("store: tenant id %q does not match transaction tenant", tn.ID)
	}
	if err := checkTexts(textCheck{"id", tn.ID, store.MaxID}, textCheck{"name", tn.Name, store.MaxTenantName}, textCheck{"url", tn.WebhookURL, store.MaxWebhookURL}); err != nil {
		return err
	}
	if tn.CreatedAt.IsZero() {
		tn.CreatedAt = t.now()
	}
	_, err := t.exec(ctx, `INSERT INTO tenants (id, name, webhook_url, webhook_secret, webhook_key_id, created_at) VALUES ($1,$2,$3,$4,$5,$6)`,
		tn.ID, tn.Name, Null(tn.WebhookURL), Bytes(tn.WebhookSecretCT), Null(tn.WebhookKeyID), t.tm(tn.CreatedAt))
	return err
}

// GetTenant returns the transaction's tenant.
func (t *Tx) GetTenant(ctx context.Context) (*store.Tenant, error) {
	tn, err := ScanTenant(t.row(ctx, `SELECT `+TenantCols+` FROM tenants WHERE id = $1`, t.tenant))
	if err != nil {
		return nil, t.classify(err)
	}
	return tn, nil
}

// TenantCols are the columns ScanTenant reads, in order.
const TenantCols = `id, name, webhook_url, webhook_secret, webhook_key_id, created_at,
		webhook_prev_secret, webhook_prev_key_id, webhook_prev_expires_at`

// ScanTenant reads a tenant row of TenantCols.
func ScanTenant(r Row) (*store.Tenant, error) {
	var tn store.Tenant
	var url, kid, prevKid Text
	var sec, prev Bytes
	var created, prevExp Time
	if err := r.Scan(&tn.ID, &tn.Name, &url, &sec, &kid, &created, &prev, &prevKid, &prevExp); err != nil {
		return nil, err
	}
	tn.WebhookURL, tn.WebhookSecretCT, tn.WebhookKeyID, tn.CreatedAt = string(url), sec, string(kid), created.T
	tn.WebhookPrevSecretCT, tn.WebhookPrevKeyID, tn.WebhookPrevExpiresAt = prev, string(prevKid), prevExp.Ptr()
	return &tn, nil
}

// UpdateTenant writes name and webhook settings.
func (t *Tx) UpdateTenant(ctx context.Context, tn *store.Tenant) error {
	if err := checkTexts(textCheck{"name", tn.Name, store.MaxTenantName}, textCheck{"url", tn.WebhookURL, store.MaxWebhookURL}); err != nil {
		return err
	}
	return t.execOne(ctx, `UPDATE tenants SET name = $2, webhook_url = $3, webhook_secret = $4, webhook_key_id = $5,
		webhook_prev_secret = $6, webhook_prev_key_id = $7, webhook_prev_expires_at = $8 WHERE id = $1`,
		t.tenant, tn.Name, Null(tn.WebhookURL), Bytes(tn.WebhookSecretCT), Null(tn.WebhookKeyID),
		Bytes(tn.WebhookPrevSecretCT), Null(tn.WebhookPrevKeyID), t.tmp(tn.WebhookPrevExpiresAt))
}

// CreateUser inserts a user of the tenant.
func (t *Tx) CreateUser(ctx context.Context, u *store.User) error {
	if err := checkTexts(textCheck{"id", u.ID, store.MaxID}, textCheck{"email", u.Email, store.MaxUserEmail}, textCheck{"name", u.Name, store.MaxUserName}); err != nil {
		return err
	}
	if u.ID == "" {
		u.ID = ids.New("usr")
	}
	u.TenantID = t.tenant
	if u.CreatedAt.IsZero() {
		u.CreatedAt = t.now()
	}
	_, err := t.exec(ctx, `INSERT INTO users (id, tenant_id, email, name, created_at) VALUES ($1,$2,$3,$4,$5)`,
		u.ID, t.tenant, Null(u.Email), Null(u.Name), t.tm(u.CreatedAt))
	return err
}

// GetUser returns a user of the tenant.
func (t *Tx) GetUser(ctx context.Context, id string) (*store.User, error) {
	var u store.User
	var email, name Text
	var created Time
	err := t.row(ctx, `SELECT id, tenant_id, email, name, created_at FROM users WHERE tenant_id = $1 AND id = $2`, t.tenant, id).
		Scan(&u.ID, &u.TenantID, &email, &name, &created)
	if err != nil {
		return nil, t.classify(err)
	}
	u.Email, u.Name, u.CreatedAt = string(email), string(name), created.T
	return &u, nil
}

// CreateWorkspace inserts a workspace of the tenant.
func (t *Tx) CreateWorkspace(ctx context.Context, w *store.Workspace) error {
	if err := CheckText("name", w.Name, store.MaxTenantName); err != nil {
		return err
	}
	if w.ID == "" {
		w.ID = ids.New("wsp")
	}
	w.TenantID = t.tenant
	if w.CreatedAt.IsZero() {
		w.CreatedAt = t.now()
	}
	_, err := t.exec(ctx, `INSERT INTO workspaces (id, tenant_id, name, created_at) VALUES ($1,$2,$3,$4)`,
		w.ID, t.tenant, w.Name, t.tm(w.CreatedAt))
	return err
}

// CreateAPIKey inserts a hashed API key.
func (t *Tx) CreateAPIKey(ctx context.Context, k *store.APIKey) error {
	if err := CheckText("name", k.Name, store.MaxAPIKeyName); err != nil {
		return err
	}
	if k.ID == "" {
		k.ID = ids.New("key")
	}
	k.TenantID = t.tenant
	if k.CreatedAt.IsZero() {
		k.CreatedAt = t.now()
	}
	_, err := t.exec(ctx, `INSERT INTO tenant_api_keys (id, tenant_id, name, prefix, hash, created_at) VALUES ($1,$2,$3,$4,$5,$6)`,
		k.ID, t.tenant, k.Name, k.Prefix, k.Hash, t.tm(k.CreatedAt))
	return err
}

// ListAPIKeys lists the tenant's keys (hashes included; callers must not
// expose them).
func (t *Tx) ListAPIKeys(ctx context.Context) ([]store.APIKey, error) {
	return list(ctx, t, ScanAPIKey, `SELECT id, tenant_id, name, prefix, hash, created_at, revoked_at, last_used_at FROM tenant_api_keys WHERE tenant_id = $1 ORDER BY id`, t.tenant)
}

// list runs a query and scans each row into a T.
func list[T any](ctx context.Context, t *Tx, scan func(Row) (*T, error), query string, args ...any) ([]T, error) {
	rows, err := t.q.Query(ctx, t.d.Rebind(query), args...)
	if err != nil {
		return nil, t.classify(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}

// ScanAPIKey reads id, tenant_id, name, prefix, hash, created_at,
// revoked_at, last_used_at.
func ScanAPIKey(r Row) (*store.APIKey, error) {
	var k store.APIKey
	var hash Bytes
	var created, revoked, used Time
	if err := r.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &hash, &created, &revoked, &used); err != nil {
		return nil, err
	}
	k.Hash, k.CreatedAt, k.RevokedAt, k.LastUsedAt = hash, created.T, revoked.Ptr(), used.Ptr()
	return &k, nil
}

// RevokeAPIKey marks a key revoked.
func (t *Tx) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	t.revoked = true
	if t.keys != nil {
		t.keys.Clear()
	}
	return t.execOne(ctx, `UPDATE tenant_api_keys SET revoked_at = COALESCE(revoked_at, $3) WHERE tenant_id = $1 AND id = $2`, t.tenant, id, t.tm(at))
}

// CreateState inserts a pending OAuth state.
func (t *Tx) CreateState(ctx context.Context, s *store.OAuthState) error {
	if err := checkTexts(textCheck{"user_id", s.UserID, store.MaxID}, textCheck{"provider", s.Provider, store.MaxProvider}, textCheck{"redirect_uri", s.RedirectURI, 2048}); err != nil {
		return err
	}
	if s.ID == "" {
		s.ID = ids.New("sta")
	}
	s.TenantID = t.tenant
	if s.CreatedAt.IsZero() {
		s.CreatedAt = t.now()
	}
	_, err := t.exec(ctx, `INSERT INTO oauth_states (id, tenant_id, user_id, state, provider, expires_at, created_at, redirect_uri, extra_data, secret, key_id)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
		s.ID, t.tenant, Null(s.UserID), s.StateHash, s.Provider, t.tm(s.ExpiresAt), t.tm(s.CreatedAt), Null(s.RedirectURI), t.d.JSON(s.Extra), Bytes(s.SecretCT), Null(s.KeyID))
	return err
}

// ConsumeState deletes and returns a state (single use).
func (t *Tx) ConsumeState(ctx context.Context, stateHash string) (*store.OAuthState, error) {
	var s store.OAuthState
	var user, redirect, kid Text
	var extra, secret Bytes
	var exp, created Time
	err := t.row(ctx, `DELETE FROM oauth_states WHERE tenant_id = $1 AND state = $2
		RETURNING id, tenant_id, user_id, state, provider, expires_at, created_at, redirect_uri, extra_data, secret, key_id`, t.tenant, stateHash).
		Scan(&s.ID, &s.TenantID, &user, &s.StateHash, &s.Provider, &exp, &created, &redirect, &extra, &secret, &kid)
	if err != nil {
		return nil, t.classify(err)
	}
	s.UserID, s.RedirectURI, s.KeyID = string(user), string(redirect), string(kid)
	s.ExpiresAt, s.CreatedAt, s.SecretCT = exp.T, created.T, secret
	if s.Extra, err = t.d.ReadJSON(extra); err != nil {
		return nil, err
	}
	return &s, nil
}

// DeleteExpiredStates removes the tenant's expired states.
func (t *Tx) DeleteExpiredStates(ctx context.Context, now time.Time) (int, error) {
	n, err := t.exec(ctx, `DELETE FROM oauth_states WHERE tenant_id = $1 AND expires_at <= $2`, t.tenant, t.tm(now))
	return int(n), err
}

const connCols = `id, tenant_id, user_id, workspace_id, provider, auth_kind, credentials, key_id, token_type, expires_at,
	instance_url, scope, status, status_reason, metadata, params, version, last_refreshed_at, failure_count,
	next_refresh_at, created_at, updated_at`

func (t *Tx) scanConn(r Row) (*store.Connection, error) {
	var c store.Connection
	var user, ws, tokenType, instance, scope, reason Text
	var creds, meta, params Bytes
	var exp, refreshed, next, created, updated Time
	err := r.Scan(&c.ID, &c.TenantID, &user, &ws, &c.Provider, &c.AuthKind, &creds, &c.KeyID, &tokenType, &exp,
		&instance, &scope, &c.Status, &reason, &meta, &params, &c.Version, &refreshed, &c.FailureCount,
		&next, &created, &updated)
	if err != nil {
		return nil, err
	}
	c.UserID, c.WorkspaceID, c.TokenType = string(user), string(ws), string(tokenType)
	c.InstanceURL, c.Scope, c.StatusReason = string(instance), string(scope), string(reason)
	c.CredentialsCT = creds
	c.ExpiresAt, c.LastRefreshedAt, c.NextRefreshAt = exp.Ptr(), refreshed.Ptr(), next.Ptr()
	c.CreatedAt, c.UpdatedAt = created.T, updated.T
	if c.Metadata, err = t.readMap(meta); err != nil {
		return nil, err
	}
	if c.Params, err = t.readMap(params); err != nil {
		return nil, err
	}
	return &c, nil
}

// UpsertConnection inserts or replaces the (tenant, provider, user)
// connection. On replace the id is kept and the version increments.
func (t *Tx) UpsertConnection(ctx context.Context, c *store.Connection) error {
	if err := checkConn(c); err != nil {
		return err
	}
	now := t.now()
	if c.ID == "" {
		c.ID = ids.New("con")
	}
	if c.Status == "" {
		c.Status = store.StatusActive
	}
	if c.TokenType == "" {
		c.TokenType = "Bearer"
	}
	c.TenantID = t.tenant
	row := t.row(ctx, `INSERT INTO integration_tokens (`+connCols+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,1,$17,$18,$19,$20,$20)
		ON CONFLICT `+t.d.UpsertConnectionConflict()+` DO UPDATE SET
			workspace_id = EXCLUDED.workspace_id, auth_kind = EXCLUDED.auth_kind, credentials = EXCLUDED.credentials,
			key_id = EXCLUDED.key_id, token_type = EXCLUDED.token_type, expires_at = EXCLUDED.expires_at,
			instance_url = EXCLUDED.instance_url, scope = EXCLUDED.scope, status = EXCLUDED.status,
			status_reason = EXCLUDED.status_reason, metadata = EXCLUDED.metadata, params = EXCLUDED.params,
			version = integration_tokens.version + 1, last_refreshed_at = EXCLUDED.last_refreshed_at,
			failure_count = EXCLUDED.failure_count, next_refresh_at = EXCLUDED.next_refresh_at,
			updated_at = EXCLUDED.updated_at
		RETURNING id, version, created_at, updated_at`,
		c.ID, t.tenant, Null(c.UserID), Null(c.WorkspaceID), c.Provider, c.AuthKind, c.CredentialsCT, c.KeyID, clip(CleanText(c.TokenType), maxTokenType), t.tmp(c.ExpiresAt),
		Null(CleanText(c.InstanceURL)), Null(CleanText(c.Scope)), c.Status, Null(CleanText(c.StatusReason)), t.d.JSON(Map(c.Metadata)), t.d.JSON(Map(c.Params)),
		t.tmp(c.LastRefreshedAt), c.FailureCount, t.tmp(c.NextRefreshAt), t.tm(now))
	var created, updated Time
	if err := row.Scan(&c.ID, &c.Version, &created, &updated); err != nil {
		return t.classify(err)
	}
	c.CreatedAt, c.UpdatedAt = created.T, updated.T
	return nil
}

// checkConn checks the fields of a connection the tenant chose.
func checkConn(c *store.Connection) error {
	if err := checkTexts(textCheck{"user_id", c.UserID, store.MaxID}, textCheck{"provider", c.Provider, store.MaxProvider}); err != nil {
		return err
	}
	for k, v := range c.Params {
		if err := checkTexts(textCheck{"params", k, store.MaxProvider}, textCheck{"params." + k, v, store.MaxParamValue}); err != nil {
			return err
		}
	}
	return nil
}

// GetConnection returns the connection for (provider, user).
func (t *Tx) GetConnection(ctx context.Context, provider, userID string) (*store.Connection, error) {
	var row Row
	if userID == "" {
		row = t.row(ctx, `SELECT `+connCols+` FROM integration_tokens WHERE tenant_id = $1 AND provider = $2 AND user_id IS NULL`, t.tenant, provider)
	} else {
		row = t.row(ctx, `SELECT `+connCols+` FROM integration_tokens WHERE tenant_id = $1 AND provider = $2 AND user_id = $3`, t.tenant, provider, userID)
	}
	c, err := t.scanConn(row)
	return c, t.classify(err)
}

// GetConnectionByID returns a connection by id.
func (t *Tx) GetConnectionByID(ctx context.Context, id string) (*store.Connection, error) {
	c, err := t.scanConn(t.row(ctx, `SELECT `+connCols+` FROM integration_tokens WHERE tenant_id = $1 AND id = $2`, t.tenant, id))
	return c, t.classify(err)
}

// LockConnection returns a connection and locks its row until the
// transaction ends.
func (t *Tx) LockConnection(ctx context.Context, id string) (*store.Connection, error) {
	c, err := t.scanConn(t.row(ctx, `SELECT `+connCols+` FROM integration_tokens WHERE tenant_id = $1 AND id = $2 `+t.d.ForUpdate(), t.tenant, id))
	return c, t.classify(err)
}

// ListConnections lists the tenant's connections.
func (t *Tx) ListConnections(ctx context.Context) ([]store.Connection, error) {
	return list(ctx, t, t.scanConn, `SELECT `+connCols+` FROM integration_tokens WHERE tenant_id = $1 ORDER BY provider, id`, t.tenant)
}

// UpdateConnection writes c when the stored version equals c.Version.
func (t *Tx) UpdateConnection(ctx context.Context, c *store.Connection) error {
	if err := checkConn(c); err != nil {
		return err
	}
	now := t.now()
	n, err := t.exec(ctx, `UPDATE integration_tokens SET
			credentials = $3, key_id = $4, token_type = $5, expires_at = $6, instance_url = $7, scope = $8,
			status = $9, status_reason = $10, metadata = $11, params = $12, last_refreshed_at = $13,
			failure_count = $14, next_refresh_at = $15, updated_at = $16, version = version + 1
		WHERE tenant_id = $1 AND id = $2 AND version = $17`,
		t.tenant, c.ID, c.CredentialsCT, c.KeyID, clip(CleanText(c.TokenType), maxTokenType), t.tmp(c.ExpiresAt), Null(CleanText(c.InstanceURL)), Null(CleanText(c.Scope)),
		c.Status, Null(CleanText(c.StatusReason)), t.d.JSON(Map(c.Metadata)), t.d.JSON(Map(c.Params)), t.tmp(c.LastRefreshedAt),
		c.FailureCount, t.tmp(c.NextRefreshAt), t.tm(now), c.Version)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: connection %s changed since version %d", store.ErrConflict, c.ID, c.Version)
	}
	c.Version++
	c.UpdatedAt = now
	return nil
}

// DeleteConnection removes a connection.
func (t *Tx) DeleteConnection(ctx context.Context, id string) error {
	return t.execOne(ctx, `DELETE FROM integration_tokens WHERE tenant_id = $1 AND id = $2`, t.tenant, id)
}

// PutOAuthApp inserts or replaces the tenant's OAuth app for a provider.
func (t *Tx) PutOAuthApp(ctx context.Context, a *store.OAuthApp) error {
	if err := checkTexts(textCheck{"provider", a.Provider, store.MaxProvider}, textCheck{"client_id", a.ClientID, store.MaxClientID}, textCheck{"scopes", a.Scopes, store.MaxScopes}); err != nil {
		return err
	}
	now := t.now()
	a.TenantID = t.tenant
	row := t.row(ctx, `INSERT INTO oauth_apps (tenant_id, provider, client_id, client_secret, key_id, scopes, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$7)
		ON CONFLICT (tenant_id, provider) DO UPDATE SET client_id = EXCLUDED.client_id, client_secret = EXCLUDED.client_secret,
			key_id = EXCLUDED.key_id, scopes = EXCLUDED.scopes, updated_at = EXCLUDED.updated_at
		RETURNING created_at, updated_at`,
		t.tenant, a.Provider, a.ClientID, a.ClientSecretCT, a.KeyID, a.Scopes, t.tm(now))
	var created, updated Time
	if err := row.Scan(&created, &updated); err != nil {
		return t.classify(err)
	}
	a.CreatedAt, a.UpdatedAt = created.T, updated.T
	return nil
}

// GetOAuthApp returns the tenant's OAuth app for a provider.
func (t *Tx) GetOAuthApp(ctx context.Context, provider string) (*store.OAuthApp, error) {
	var a store.OAuthApp
	var sec Bytes
	var created, updated Time
	err := t.row(ctx, `SELECT tenant_id, provider, client_id, client_secret, key_id, scopes, created_at, updated_at FROM oauth_apps WHERE tenant_id = $1 AND provider = $2`, t.tenant, provider).
		Scan(&a.TenantID, &a.Provider, &a.ClientID, &sec, &a.KeyID, &a.Scopes, &created, &updated)
	if err != nil {
		return nil, t.classify(err)
	}
	a.ClientSecretCT, a.CreatedAt, a.UpdatedAt = sec, created.T, updated.T
	return &a, nil
}

// DeleteOAuthApp removes the tenant's OAuth app for a provider.
func (t *Tx) DeleteOAuthApp(ctx context.Context, provider string) error {
	return t.execOne(ctx, `DELETE FROM oauth_apps WHERE tenant_id = $1 AND provider = $2`, t.tenant, provider)
}

const execCols = `id, tenant_id, user_id, provider, action, implementation, status, idempotency_key, request_hash,
	input, output, error, error_code, duration_ms, created_at, finished_at, started_at, job_id`

func (t *Tx) scanExec(r Row) (*store.Execution, error) {
	var e store.Execution
	var user, key, hash, msg, code Text
	var in, out Bytes
	var created, finished, started Time
	var job *int64
	if err := r.Scan(&e.ID, &e.TenantID, &user, &e.Provider, &e.Action, &e.Implementation, &e.Status, &key, &hash,
		&in, &out, &msg, &code, &e.DurationMS, &created, &finished, &started, &job); err != nil {
		return nil, err
	}
	e.UserID, e.IdempotencyKey, e.RequestHash, e.Error, e.ErrorCode = string(user), string(key), string(hash), string(msg), string(code)
	e.CreatedAt, e.FinishedAt, e.StartedAt = created.T, finished.Ptr(), started.Ptr()
	if job != nil {
		e.JobID = *job
	}
	var err error
	if e.Input, err = t.d.ReadJSON(in); err != nil {
		return nil, fmt.Errorf("execution %s input: %w", e.ID, err)
	}
	if e.Output, err = t.d.ReadJSON(out); err != nil {
		return nil, fmt.Errorf("execution %s output: %w", e.ID, err)
	}
	return &e, nil
}

// CreateExecution records a new execution. A duplicate idempotency key
// returns store.ErrConflict.
func (t *Tx) CreateExecution(ctx context.Context, e *store.Execution) error {
	if err := checkTexts(textCheck{"user_id", e.UserID, store.MaxID}, textCheck{"provider", e.Provider, store.MaxProvider},
		textCheck{"action", e.Action, store.MaxAction}, textCheck{"Idempotency-Key", e.IdempotencyKey, store.MaxIdempotencyKey}); err != nil {
		return err
	}
	if e.ID == "" {
		e.ID = ids.New("exe")
	}
	e.TenantID = t.tenant
	if e.CreatedAt.IsZero() {
		e.CreatedAt = t.now()
	}
	if e.Status == "" {
		e.Status = store.ExecPending
	}
	var job any
	if e.JobID != 0 {
		job = e.JobID
	}
	_, err := t.exec(ctx, `INSERT INTO executions (`+execCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)`,
		e.ID, t.tenant, Null(e.UserID), e.Provider, e.Action, e.Implementation, e.Status, Null(e.IdempotencyKey), Null(e.RequestHash),
		t.d.JSON(e.Input), t.d.JSON(e.Output), Null(CleanText(e.Error)), Null(CleanText(e.ErrorCode)), e.DurationMS, t.tm(e.CreatedAt), t.tmp(e.FinishedAt),
		t.tmp(e.StartedAt), job)
	return err
}

// StartExecution marks a pending or running execution running from at.
func (t *Tx) StartExecution(ctx context.Context, id string, at time.Time) error {
	n, err := t.exec(ctx, `UPDATE executions SET status = 'running', started_at = $3
		WHERE tenant_id = $1 AND id = $2 AND status IN ('pending', 'running')`, t.tenant, id, t.tm(at))
	if err != nil || n > 0 {
		return err
	}
	return t.missingOrSettled(ctx, id)
}

// FinishExecution records the outcome of an execution still pending or
// running; a settled record is left as it is (store.ErrConflict).
func (t *Tx) FinishExecution(ctx context.Context, e *store.Execution) error {
	return t.finishExecution(ctx, e, `status IN ('pending', 'running')`)
}

// SettleExecution records e's outcome if its status is still from.
func (t *Tx) SettleExecution(ctx context.Context, e *store.Execution, from string) error {
	if from != store.ExecPending && from != store.ExecRunning {
		return fmt.Errorf("sqlcore: cannot settle an execution from status %q", from)
	}
	return t.finishExecution(ctx, e, `status = '`+from+`'`)
}

func (t *Tx) finishExecution(ctx context.Context, e *store.Execution, cond string) error {
	if e.FinishedAt == nil {
		now := t.now()
		e.FinishedAt = &now
	}
	n, err := t.exec(ctx, `UPDATE executions SET status = $3, output = $4, error = $5, error_code = $6, duration_ms = $7, finished_at = $8, implementation = $9
		WHERE tenant_id = $1 AND id = $2 AND `+cond,
		t.tenant, e.ID, e.Status, t.d.JSON(e.Output), Null(CleanText(e.Error)), Null(CleanText(e.ErrorCode)), e.DurationMS, t.tmp(e.FinishedAt), e.Implementation)
	if err != nil || n > 0 {
		return err
	}
	return t.missingOrSettled(ctx, e.ID)
}

// missingOrSettled explains an update of an unsettled execution that
// changed nothing: store.ErrNotFound or store.ErrConflict.
func (t *Tx) missingOrSettled(ctx context.Context, id string) error {
	var one int
	err := t.row(ctx, `SELECT 1 FROM executions WHERE tenant_id = $1 AND id = $2`, t.tenant, id).Scan(&one)
	if err != nil {
		return t.classify(err)
	}
	return store.ErrConflict
}

// GetExecution returns an execution by id.
func (t *Tx) GetExecution(ctx context.Context, id string) (*store.Execution, error) {
	e, err := t.scanExec(t.row(ctx, `SELECT `+execCols+` FROM executions WHERE tenant_id = $1 AND id = $2`, t.tenant, id))
	return e, t.classify(err)
}

// FindExecutionByKey returns the execution with this idempotency key
// created after the given time.
func (t *Tx) FindExecutionByKey(ctx context.Context, key string, after time.Time) (*store.Execution, error) {
	e, err := t.scanExec(t.row(ctx, `SELECT `+execCols+` FROM executions WHERE tenant_id = $1 AND idempotency_key = $2 AND created_at > $3`, t.tenant, key, t.tm(after)))
	return e, t.classify(err)
}

// ListExecutions lists executions, newest first.
func (t *Tx) ListExecutions(ctx context.Context, f store.ExecutionFilter) ([]store.Execution, error) {
	return t.listExecutions(ctx, f, execCols)
}

// listExecutions lists the columns cols of executions matching f, newest
// first.
func (t *Tx) listExecutions(ctx context.Context, f store.ExecutionFilter, cols string) ([]store.Execution, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	before := f.Before
	if before.IsZero() {
		before = t.now().Add(time.Hour)
	}
	return list(ctx, t, t.scanExec, `SELECT `+cols+` FROM executions
		WHERE tenant_id = $1 AND ($2 = '' OR provider = $2) AND ($3 = '' OR status = $3) AND created_at < $4
		ORDER BY id DESC LIMIT $5`, t.tenant, f.Provider, f.Status, t.tm(before), f.Limit)
}

// AddAudit records an audit event.
func (t *Tx) AddAudit(ctx context.Context, e *store.AuditEvent) error {
	if e.ID == "" {
		e.ID = ids.New("aud")
	}
	e.TenantID = t.tenant
	if e.CreatedAt.IsZero() {
		e.CreatedAt = t.now()
	}
	_, err := t.exec(ctx, `INSERT INTO audit_events (id, tenant_id, actor, action, target, details, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		e.ID, t.tenant, e.Actor, e.Action, e.Target, t.d.JSON(e.Details), t.tm(e.CreatedAt))
	return err
}

// ListAudit lists recent audit events, newest first.
func (t *Tx) ListAudit(ctx context.Context, limit int) ([]store.AuditEvent, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	return list(ctx, t, func(r Row) (*store.AuditEvent, error) {
		var e store.AuditEvent
		var details Bytes
		var created Time
		if err := r.Scan(&e.ID, &e.TenantID, &e.Actor, &e.Action, &e.Target, &details, &created); err != nil {
			return nil, err
		}
		var err error
		e.Details, e.CreatedAt = details, created.T
		if e.Details, err = t.d.ReadJSON(details); err != nil {
			return nil, err
		}
		return &e, nil
	}, `SELECT id, tenant_id, actor, action, target, details, created_at FROM audit_events WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2`, t.tenant, limit)
}

// RevokeSession records a signed-out session and sweeps expired ones.
func (t *Tx) RevokeSession(ctx context.Context, sessionHash string, expires time.Time) error {
	if err := CheckText("session", sessionHash, 64); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `DELETE FROM revoked_sessions WHERE tenant_id = $1 AND expires_at <= $2`, t.tenant, t.tm(t.now())); err != nil {
		return err
	}
	_, err := t.exec(ctx, `INSERT INTO revoked_sessions (tenant_id, session_hash, expires_at) VALUES ($1,$2,$3)
		ON CONFLICT (tenant_id, session_hash) DO NOTHING`, t.tenant, sessionHash, t.tm(expires))
	return err
}

// SessionRevoked reports whether a live revocation exists for the session.
func (t *Tx) SessionRevoked(ctx context.Context, sessionHash string, now time.Time) (bool, error) {
	var n int
	err := t.row(ctx, `SELECT COUNT(*) FROM revoked_sessions WHERE tenant_id = $1 AND session_hash = $2 AND expires_at > $3`,
		t.tenant, sessionHash, t.tm(now)).Scan(&n)
	return n > 0, t.classify(err)
}

// KVGet reads a value of the tenant's plugin store.
func (t *Tx) KVGet(ctx context.Context, provider, key string) ([]byte, bool, error) {
	if err := CheckText("key", key, store.MaxKVKey); err != nil {
		return nil, false, err
	}
	var v Bytes
	err := t.row(ctx, `SELECT value FROM kv_store WHERE tenant_id = $1 AND provider = $2 AND key = $3`, t.tenant, provider, key).Scan(&v)
	if err != nil {
		if t.d.IsNoRows(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return v, true, nil
}

// KVPut writes a value of the tenant's plugin store.
func (t *Tx) KVPut(ctx context.Context, provider, key string, value []byte) error {
	if err := CheckText("key", key, store.MaxKVKey); err != nil {
		return err
	}
	_, err := t.exec(ctx, `INSERT INTO kv_store (tenant_id, provider, key, value, updated_at) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (tenant_id, provider, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
		t.tenant, provider, key, value, t.tm(t.now()))
	return err
}

// SecretRows lists every encrypted value of the tenant.
func (t *Tx) SecretRows(ctx context.Context) ([]store.SecretRow, error) {
	return list(ctx, t, func(r Row) (*store.SecretRow, error) {
		row := store.SecretRow{TenantID: t.tenant}
		var kid Text
		var ct Bytes
		if err := r.Scan(&row.Table, &row.Column, &row.RowID, &row.Provider, &kid, &ct); err != nil {
			return nil, err
		}
		row.KeyID, row.Ciphertext = string(kid), ct
		return &row, nil
	}, `
		SELECT 'integration_tokens', 'credentials', id, provider, key_id, credentials FROM integration_tokens WHERE tenant_id = $1
		UNION ALL SELECT 'oauth_apps', 'client_secret', provider, provider, key_id, client_secret FROM oauth_apps WHERE tenant_id = $1
		UNION ALL SELECT 'oauth_states', 'secret', id, provider, key_id, secret FROM oauth_states WHERE tenant_id = $1 AND secret IS NOT NULL
		UNION ALL SELECT 'tenants', 'webhook_secret', id, '', webhook_key_id, webhook_secret FROM tenants WHERE id = $1 AND webhook_secret IS NOT NULL
		UNION ALL SELECT 'tenants', 'webhook_prev_secret', id, '', webhook_prev_key_id, webhook_prev_secret FROM tenants WHERE id = $1 AND webhook_prev_secret IS NOT NULL
		UNION ALL SELECT 'kv_store', 'value', key, provider, '', value FROM kv_store WHERE tenant_id = $1`+triggerSecretRows, t.tenant)
}

// UpdateSecret replaces one encrypted value if unchanged since read.
func (t *Tx) UpdateSecret(ctx context.Context, old store.SecretRow, ciphertext []byte, keyID string) error {
	var q string
	switch old.Table + "." + old.Column {
	case "integration_tokens.credentials":
		q = `UPDATE integration_tokens SET credentials = $3, key_id = $4 WHERE tenant_id = $1 AND id = $2 AND credentials = $5`
	case "oauth_apps.client_secret":
		q = `UPDATE oauth_apps SET client_secret = $3, key_id = $4 WHERE tenant_id = $1 AND provider = $2 AND client_secret = $5`
	case "oauth_states.secret":
		q = `UPDATE oauth_states SET secret = $3, key_id = $4 WHERE tenant_id = $1 AND id = $2 AND secret = $5`
	case "tenants.webhook_secret":
		q = `UPDATE tenants SET webhook_secret = $3, webhook_key_id = $4 WHERE id = $1 AND id = $2 AND webhook_secret = $5`
	case "tenants.webhook_prev_secret":
		q = `UPDATE tenants SET webhook_prev_secret = $3, webhook_prev_key_id = $4 WHERE id = $1 AND id = $2 AND webhook_prev_secret = $5`
	case "kv_store.value":
		// Values carry their key id inside the ciphertext.
		n, err := t.exec(ctx, `UPDATE kv_store SET value = $3 WHERE tenant_id = $1 AND key = $2 AND provider = $4 AND value = $5`,
			t.tenant, old.RowID, ciphertext, old.Provider, old.Ciphertext)
		if err == nil && n == 0 {
			return fmt.Errorf("%w: kv_store value %s changed", store.ErrConflict, old.RowID)
		}
		return err
	case "trigger_instances.state", "trigger_instances.registration":
		return t.updateTriggerSecret(ctx, old, ciphertext)
	default:
		return fmt.Errorf("store: unknown secret column %s.%s", old.Table, old.Column)
	}
	n, err := t.exec(ctx, q, t.tenant, old.RowID, ciphertext, keyID, old.Ciphertext)
	if err == nil && n == 0 {
		return fmt.Errorf("%w: %s.%s row %s changed", store.ErrConflict, old.Table, old.Column, old.RowID)
	}
	return err
}
