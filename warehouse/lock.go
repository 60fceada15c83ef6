package warehouse

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/jackc/pgerrcode"
	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// Advisory lock classes in the warehouse (the first key of the two-key form).
const (
	tenantLockClass = `hashtext('tenantctl.warehouse.tenant')`
	ddlLockClass    = `hashtext('tenantctl.warehouse.ddl')`
)

// LockTenant takes the session-level advisory lock that serialises everything writing
// one tenant's warehouse rows: rollup runs (from the CLI, the scheduler, any node) and
// [PurgeTenant]. Two runs for the same tenant must not interleave: the one with the older
// snapshot could commit last and put back rows the other had already updated or deleted.
// It waits at most the session's lock_timeout. Call unlock when done (it runs even when
// ctx is cancelled); closing the connection releases the lock too.
func LockTenant(ctx context.Context, conn *pgx.Conn, tenantID string) (unlock func() error, err error) {
	if _, err := conn.Exec(ctx, lockTenantSQL, tenantID); err != nil {
		return nil, lockTenantError(tenantID, err)
	}
	return func() error {
		_, err := conn.Exec(context.WithoutCancel(ctx), unlockTenantSQL, tenantID)
		return err
	}, nil
}

const (
	lockTenantSQL   = `SELECT pg_advisory_lock(` + tenantLockClass + `, hashtext($1))`
	unlockTenantSQL = `SELECT pg_advisory_unlock(` + tenantLockClass + `, hashtext($1))`
)

func lockTenantError(tenantID string, err error) error {
	if dbconn.HasCode(err, pgerrcode.LockNotAvailable) { // lock_timeout passed
		return fmt.Errorf("another rollup or purge of tenant %s is still writing to the warehouse: %w", tenantID, err)
	}
	return fmt.Errorf("lock tenant %s in the warehouse: %w", tenantID, err)
}

// LockTenantXact takes the same lock as [LockTenant] for the rest of transaction tx.
func LockTenantXact(ctx context.Context, tx pgx.Tx, tenantID string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+tenantLockClass+`, hashtext($1))`, tenantID); err != nil {
		return fmt.Errorf("lock tenant %s in the warehouse: %w", tenantID, err)
	}
	return nil
}
