package provisioner

import (
	"io/fs"

	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/migrations"
)

// Provisioner drives the lifecycle of servers, the warehouse and tenants.
type Provisioner struct {
	Store *catalog.Store
	Log   hclog.Logger
	// TenantMigrations is the tenant schema; nil means the embedded default.
	TenantMigrations fs.FS
	// Hooks lets tests stop a run between two steps, as a crash would.
	Hooks Hooks
}

// Hooks are called between provisioning steps; a non-nil error aborts the run there.
type Hooks struct {
	AfterStep func(step string) error
}

// New returns a Provisioner over an open catalog.
func New(store *catalog.Store, log hclog.Logger) *Provisioner {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Provisioner{Store: store, Log: log}
}

func (p *Provisioner) tenantFS() fs.FS {
	if p.TenantMigrations != nil {
		return p.TenantMigrations
	}
	return migrations.Tenant()
}

func (p *Provisioner) afterStep(step string) error {
	if p.Hooks.AfterStep != nil {
		return p.Hooks.AfterStep(step)
	}
	return nil
}
