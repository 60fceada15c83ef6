package catalog

import (
	"context"
	"time"

	"github.com/tenantctl/tenantctl/internal/pglock"
)

// TenantLockName is the catalog advisory lock every process takes while it changes one
// tenant (create, delete, suspend, rotate, move, restore…).
func TenantLockName(id string) string { return "tenant:" + id }

// SettledTenant reads tenant id once no process holds its lock, waiting up to wait for
// one that does (then it reads it anyway). A fleet run whose session on a tenant
// database was ended under it uses it to tell an operation on that tenant — a delete
// ends tenantctl's own owner sessions before it records the tenant as deleting — from a
// failure of its own.
func (s *Store) SettledTenant(ctx context.Context, id string, wait time.Duration) (Tenant, error) {
	if unlock, err := pglock.Acquire(ctx, s.Pool(), TenantLockName(id), wait); err == nil {
		unlock()
	}
	return s.GetTenantByID(ctx, id)
}
