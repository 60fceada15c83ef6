package provisioner

import (
	"context"
	"errors"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pglock"
)

// lockTenant takes a session advisory lock on the catalog for one tenant, so two
// processes never drive the same tenant at once; it returns ErrBusy when another holds it.
func (p *Provisioner) lockTenant(ctx context.Context, id string) (unlock func(), err error) {
	unlock, err = pglock.TryAcquire(ctx, p.Store.Pool(), "tenant:"+id)
	if errors.Is(err, pglock.ErrHeld) {
		return nil, ErrBusy
	}
	return unlock, err
}

// lockTenantOn is lockTenant on a catalog connection opened ahead of time.
func (p *Provisioner) lockTenantOn(ctx context.Context, ahead *catalog.ConnAhead, id string) (unlock func(), err error) {
	conn, err := ahead.Take()
	if err != nil {
		return nil, err
	}
	unlock, err = pglock.TryAcquireOn(ctx, conn, "tenant:"+id)
	if errors.Is(err, pglock.ErrHeld) {
		return nil, ErrBusy
	}
	return unlock, err
}
