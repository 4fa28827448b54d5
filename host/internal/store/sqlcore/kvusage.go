package sqlcore

import "context"

// KVUsage counts the keys of the tenant's store for provider and their
// stored bytes, leaving out the key except.
func (t *Tx) KVUsage(ctx context.Context, provider, except string) (int, int64, error) {
	var keys, bytes int64
	err := t.row(ctx, `SELECT COUNT(*), CAST(COALESCE(SUM(length(key) + length(value)), 0) AS BIGINT)
		FROM kv_store WHERE tenant_id = $1 AND provider = $2 AND key <> $3`, t.tenant, provider, except).Scan(&keys, &bytes)
	return int(keys), bytes, err
}
