package mover

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pglock"
	"github.com/tenantctl/tenantctl/provisioner"
)

// DefaultKeepSource is how long the source copy of a moved tenant is kept (NOLOGIN for
// the tenant) before reconcile drops it.
const DefaultKeepSource = 24 * time.Hour

// Move steps, recorded in tenant_moves.step as each one completes.
const (
	StepPlanned     = "planned"
	StepSuspended   = "suspended"
	StepTargetRoles = "target-roles"
	StepCopying     = "copying"
	StepCopied      = "copied"
	StepHardened    = "hardened"
	StepVerified    = "verified"
	StepSwitched    = "switched"
	StepResumed     = "resumed"
)

// Methods of moving a tenant.
const (
	MethodDump    = catalog.MoveMethodDump
	MethodLogical = catalog.MoveMethodLogical
)

// Mover moves tenants between servers and in and out of the fleet.
type Mover struct {
	P   *provisioner.Provisioner
	Log hclog.Logger
}

// New returns a Mover over a provisioner.
func New(p *provisioner.Provisioner, log hclog.Logger) *Mover {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Mover{P: p, Log: log}
}

func (m *Mover) store() *catalog.Store { return m.P.Store }

// lockTenant takes the tenant's advisory lock, the one the provisioner takes, so a move
// never runs beside another lifecycle operation or another move of the same tenant.
func (m *Mover) lockTenant(ctx context.Context, id string) (func(), error) {
	unlock, err := pglock.Acquire(ctx, m.store().Pool(), catalog.TenantLockName(id), provisioner.LockWait)
	if errors.Is(err, pglock.ErrHeld) {
		return nil, provisioner.ErrBusy
	}
	return unlock, err
}

// lockAndReread takes the tenant's lock and reads the tenant again: what another
// process did before the lock was had is seen. The caller releases the lock with
// unlock; on an error it is not held.
func (m *Mover) lockAndReread(ctx context.Context, id string) (catalog.Tenant, func(), error) {
	unlock, err := m.lockTenant(ctx, id)
	if err != nil {
		return catalog.Tenant{}, nil, err
	}
	t, err := m.store().GetTenantByID(ctx, id)
	if err != nil {
		unlock()
		return catalog.Tenant{}, nil, err
	}
	return t, unlock, nil
}
