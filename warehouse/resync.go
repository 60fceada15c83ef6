package warehouse

import (
	"context"
	"fmt"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// ResyncTenant makes the tenant's next rollup a full copy of every table: it forgets
// the tenant's watermarks (their transaction ids belong to a database the tenant no
// longer lives in, after a move or a restore) and records its new server in the tenant
// dimension. It takes the tenant's warehouse lock, so it never interleaves with a
// rollup of the tenant. The rows stay until that rollup replaces them in one
// transaction: the warehouse is never seen without the tenant's rows.
func ResyncTenant(ctx context.Context, dsn string, t Tenant) error {
	conn, err := dbconn.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if err := LockTenantXact(ctx, tx, t.ID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE tenantctl.watermarks SET xmin_watermark = NULL, source = NULL WHERE tenant_id = $1`, t.ID); err != nil {
		return fmt.Errorf("reset watermarks of tenant %s: %w", t.ID, err)
	}
	if err := UpsertTenant(ctx, tx, t); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
