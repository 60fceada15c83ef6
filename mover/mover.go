package mover

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pglock"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/tenantdb"
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

// Mover moves tenants between servers and in and out of the fleet. It takes what a move
// needs of the runtime environment as fields; [New] fills them from a provisioner, whose
// server handles, placement and owner credentials a move shares.
type Mover struct {
	// Store is the catalog.
	Store *catalog.Store
	// Server returns a server's handle.
	Server func(ctx context.Context, name string) (*tenantdb.Server, error)
	// Place picks the server a tenant goes to: the named one if it can take it, else
	// the best fit for labels (see [provisioner.Provisioner.Place]).
	Place func(ctx context.Context, name string, labels map[string]string) (catalog.Server, error)
	// WithOwnerPassword calls apply with the tenant owner's password, made and
	// recorded first if the tenant has none yet.
	WithOwnerPassword func(ctx context.Context, id string, apply func(password string) error) error
	// Migrations are the tenant schema's migrations an import or a restore brings a
	// database to.
	Migrations fs.FS
	// Log is the logger.
	Log hclog.Logger
}

// New returns a Mover over a provisioner's catalog, server handles, placement, owner
// credentials and tenant migrations.
func New(p *provisioner.Provisioner, log hclog.Logger) *Mover {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Mover{Store: p.Store, Server: p.Server, Place: p.Place, WithOwnerPassword: p.WithOwnerPassword,
		Migrations: p.TenantFS(), Log: log}
}

// lockTenant takes the tenant's advisory lock, the one the provisioner takes, so a move
// never runs beside another lifecycle operation or another move of the same tenant.
func (m *Mover) lockTenant(ctx context.Context, id string) (func(), error) {
	unlock, err := pglock.Acquire(ctx, m.Store.Pool(), catalog.TenantLockName(id), provisioner.LockWait)
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
	t, err := m.Store.GetTenantByID(ctx, id)
	if err != nil {
		unlock()
		return catalog.Tenant{}, nil, err
	}
	return t, unlock, nil
}
