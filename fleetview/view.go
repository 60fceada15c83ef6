package fleetview

import (
	"context"
	"io/fs"

	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/report"
)

// SpareCounter reports the ready spare databases each server keeps (the warm pool).
// Nil until a warm pool exists: the overview then omits spares.
type SpareCounter interface {
	Spares(ctx context.Context) (map[string]int, error)
}

// View reads the fleet for the console and the API. What it reads through — the
// catalog, the server handles, the warehouse pool — belongs to the environment it was
// built from, which closes them.
type View struct {
	Store      *catalog.Store
	Servers    *fleet.Servers
	Warehouse  *fleet.Warehouse
	Migrations fs.FS
	Report     *report.Spec
	Spares     SpareCounter
	Log        hclog.Logger
}

// New returns a View over the environment; spec nil means the embedded default
// report, log nil the environment's.
func New(env *fleetenv.Env, spec *report.Spec, log hclog.Logger) *View {
	if spec == nil {
		spec = report.DefaultSpec()
	}
	if log == nil {
		log = env.Log
	}
	return &View{Store: env.Store, Servers: env.Servers, Warehouse: env.Warehouse, Migrations: env.Migrations(),
		Report: spec, Log: log}
}
