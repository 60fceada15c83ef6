package provisioner

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pglock"
)

// LockWait is how long an operation on a tenant waits for another process to finish
// with it before giving up with [ErrBusy]. It also covers a rerun started right after
// a kill, while the server has not yet noticed the dead process's session.
const LockWait = 5 * time.Second

// lockTenant takes a session advisory lock on the catalog for one tenant, so two
// processes never drive the same tenant at once; it returns ErrBusy when another still
// holds it after [LockWait].
func (p *Provisioner) lockTenant(ctx context.Context, id string) (unlock func(), err error) {
	unlock, err = pglock.Acquire(ctx, p.Store.Pool(), catalog.TenantLockName(id), LockWait)
	if errors.Is(err, pglock.ErrHeld) {
		return nil, ErrBusy
	}
	return unlock, err
}

// lockTenantBySlug looks the tenant up by slug and takes its lock (see lockTenant); the caller
// releases it with unlock.
func (p *Provisioner) lockTenantBySlug(ctx context.Context, slug string) (t catalog.Tenant, unlock func(), err error) {
	if t, err = p.Store.GetTenant(ctx, slug); err != nil {
		return t, nil, err
	}
	unlock, err = p.lockTenant(ctx, t.ID)
	return t, unlock, err
}

// lockTenantShared is lockTenant on a catalog connection the caller keeps (and closes).
func (p *Provisioner) lockTenantShared(ctx context.Context, conn *pgx.Conn, id string) (unlock func(), err error) {
	unlock, err = pglock.AcquireShared(ctx, conn, catalog.TenantLockName(id), LockWait)
	if errors.Is(err, pglock.ErrHeld) {
		return nil, ErrBusy
	}
	return unlock, err
}
