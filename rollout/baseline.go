package rollout

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// BaselineOptions describe recording a tenant's schema version without running
// migrations (an imported or legacy customer whose schema already matches).
type BaselineOptions struct {
	Store *catalog.Store
	// Servers is the server-handle cache to use (a runtime environment's, shared with
	// the rest of the process); nil: the run opens its own and closes it at the end.
	Servers    *fleet.Servers
	Migrations fs.FS
	Tenant     string
	// Version is the version the tenant's schema matches: every migration up to it is
	// recorded as applied, any recorded above it as not applied.
	Version int64
	DryRun  bool
}

// BaselineOutcome is what [Baseline] did (or, dry, would do).
type BaselineOutcome struct {
	Slug   string `json:"slug"`
	ID     string `json:"id"`
	Server string `json:"server"`
	// From is the version the catalog recorded before.
	From   int64 `json:"from"`
	DryRun bool  `json:"dry_run"`
	tenantdb.BaselinePlan
}

// Baseline checks that the tenant's database has every object the migrations up to
// o.Version create (applying them to a scratch database on its server and comparing
// catalogs), then records those versions as applied in the database's goose table
// (creating it if needed) and removes any recorded above o.Version, and sets the
// tenant's schema version in the catalog. A tenant baselined wrong is baselined again
// to the right version, up or down; its schema is never touched. A database lacking
// objects fails with a *tenantdb.BaselineError listing them (invalid input: nothing
// changed).
func Baseline(ctx context.Context, o BaselineOptions) (BaselineOutcome, error) {
	out := BaselineOutcome{DryRun: o.DryRun}
	if o.Store == nil {
		return out, fmt.Errorf("rollout: no catalog store given")
	}
	if err := validate.Slug(o.Tenant); err != nil {
		return out, err
	}
	if o.Version < 1 {
		return out, validate.Field("version", o.Version, "use a migration version of 1 or more")
	}
	set, err := LoadSet(o.Migrations)
	if err != nil {
		return out, err
	}
	t, err := migratableTenant(ctx, o.Store, o.Tenant, "baselined")
	if err != nil {
		return out, err
	}
	out.Slug, out.ID, out.Server, out.From = t.Slug, t.ID, t.Server, t.SchemaVersion
	srvs, release := handles(o.Store, o.Servers)
	defer release()
	srv, err := srvs.Get(ctx, t.Server)
	if err != nil {
		return out, err
	}
	out.BaselinePlan, err = srv.Baseline(ctx, t.ID, set.FS, o.Version, o.DryRun)
	if errors.Is(err, tenantdb.ErrBaselineMismatch) || errors.Is(err, tenantdb.ErrNoSuchVersion) {
		return out, validate.Invalid(fmt.Errorf("baseline tenant %q: %w", t.Slug, err))
	}
	if err != nil {
		return out, fmt.Errorf("baseline tenant %q: %w", t.Slug, err)
	}
	if o.DryRun {
		return out, nil
	}
	return out, o.Store.RecordMigrationEvent(context.WithoutCancel(ctx), t.ID, o.Version, 0, "", catalog.Event{
		Action: "tenant.migrate.baseline", Slug: t.Slug,
		Details: map[string]any{"server": t.Server, "from": out.From, "to": o.Version, "recorded": out.Record, "unrecorded": out.Unrecord},
	})
}
