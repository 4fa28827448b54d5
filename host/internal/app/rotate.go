package app

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/vault"
)

// RotateResult counts what a rotation did.
type RotateResult struct {
	Tenants int
	Secrets int
	Rotated int
}

// RotateKeys re-encrypts every stored secret that is not under the ring's
// active key, one tenant transaction at a time, so the host keeps serving.
// A value changed concurrently (a refresh wrote a new token) is skipped:
// the writer already sealed it under the active key. Running it again is
// safe and rotates nothing that is already current.
func RotateKeys(ctx context.Context, st store.Store, kr *vault.Keyring, progress io.Writer) (RotateResult, error) {
	var res RotateResult
	tenants, err := st.TenantIDs(ctx)
	if err != nil {
		return res, fmt.Errorf("list tenants: %w", err)
	}
	for i, tid := range tenants {
		err := st.InTenant(ctx, tid, func(tx store.Tx) error {
			rows, err := tx.SecretRows(ctx)
			if err != nil {
				return err
			}
			for _, r := range rows {
				res.Secrets++
				if !kr.NeedsRotation(r.Ciphertext) {
					continue
				}
				ad := vault.AD{Table: r.Table, Column: r.Column, TenantID: r.TenantID, Provider: r.Provider, RowID: r.RowID}
				pt, err := kr.Open(r.Ciphertext, ad)
				if err != nil {
					return fmt.Errorf("%s.%s row %s of tenant %s: %w", r.Table, r.Column, r.RowID, tid, err)
				}
				ct, kid, err := kr.Seal(pt, ad)
				clear(pt)
				if err != nil {
					return err
				}
				if err := tx.UpdateSecret(ctx, r, ct, kid); err != nil {
					if errors.Is(err, store.ErrConflict) {
						continue
					}
					return err
				}
				res.Rotated++
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Tenants++
		if progress != nil {
			fmt.Fprintf(progress, "\rrotating: %d/%d tenants, %d of %d secrets re-encrypted", i+1, len(tenants), res.Rotated, res.Secrets)
		}
	}
	if progress != nil {
		fmt.Fprintf(progress, "\rrotated: %d tenants, %d of %d secrets re-encrypted under key %q\n", res.Tenants, res.Rotated, res.Secrets, kr.ActiveKeyID())
	}
	return res, nil
}
