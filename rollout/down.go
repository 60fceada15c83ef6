package rollout

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/secret"
)

// DownOptions describe rolling one tenant back.
type DownOptions struct {
	Store *catalog.Store
	// Servers is the server-handle cache to use (a runtime environment's, shared with
	// the rest of the process); nil: the run opens its own and closes it at the end.
	Servers    *fleet.Servers
	Migrations fs.FS
	// Tenant is required: the whole fleet is never rolled back at once.
	Tenant string
	// To is the version to roll back to; nil rolls back the newest applied version only.
	To *int64
	// AllowChanged and the timeouts are as in [Options].
	AllowChanged                            bool
	LockTimeout, StatementTimeout, LockWait time.Duration
	Log                                     hclog.Logger
}

// check refuses what neither [Down] nor [PlanDown] can work with.
func (o DownOptions) check() error {
	if o.Store == nil {
		return fmt.Errorf("rollout: no catalog store given")
	}
	if o.Tenant == "" {
		return ErrFleetDown
	}
	if err := validate.Slug(o.Tenant); err != nil {
		return err
	}
	if o.To != nil && *o.To < 0 {
		return validate.Field("to", *o.To, "use a version of 0 or more")
	}
	return nil
}

// Down rolls one tenant's database back, running the Down sections of its applied
// migrations as its owner role, and records the version reached in the catalog. The
// tenant's record of a failed migration is kept (it is cleared by a successful up).
func Down(ctx context.Context, o DownOptions) (Outcome, error) {
	var out Outcome
	if err := o.check(); err != nil {
		return out, err
	}
	opts := Options{Store: o.Store, Migrations: o.Migrations, AllowChanged: o.AllowChanged, LockTimeout: o.LockTimeout,
		StatementTimeout: o.StatementTimeout, LockWait: o.LockWait, Options: fleet.Options{Log: o.Log}}
	set, changes, err := opts.loadChecked(ctx)
	if err != nil {
		return out, err
	}
	t, err := migratableTenant(ctx, o.Store, o.Tenant, "migrated")
	if err != nil {
		return out, err
	}
	if len(changes) > 0 {
		if err := acceptChanges(ctx, o.Store, set, changes); err != nil {
			return out, err
		}
	}
	out = Outcome{Slug: t.Slug, ID: t.ID, Server: t.Server, Wave: WaveSingle, From: t.SchemaVersion, To: t.SchemaVersion, Applied: []int64{}}
	start := time.Now()
	srvs, release := handles(o.Store, o.Servers)
	defer release()
	srv, err := srvs.Get(ctx, t.Server)
	if err != nil {
		return out, err
	}
	mopts, err := ownerLogin(ctx, o.Store, t.ID, migrateOptions(opts.LockTimeout, opts.StatementTimeout, opts.LockWait))
	if err != nil {
		return out, err
	}
	p, err := srv.MigrationProvider(ctx, t.ID, set.FS, mopts)
	if err != nil {
		return out, err
	}
	defer p.Close()
	current, _, err := p.GetVersions(ctx)
	if err != nil {
		return out, fmt.Errorf("read the version of tenant %q: %w", t.Slug, err)
	}
	out.From, out.To = current, current
	switch {
	case current == 0:
		return out, validate.Errorf("tenant %q has no migration applied: nothing to roll back", t.Slug)
	case o.To != nil && *o.To >= current:
		return out, fmt.Errorf("tenant %q is at version %d: %w", t.Slug, current, &validate.FieldError{Field: "to", Reason: "must name a lower version"})
	}
	var downErr error
	if o.To != nil {
		results, err := p.DownTo(ctx, *o.To)
		for _, r := range results {
			out.Applied = append(out.Applied, r.Source.Version)
		}
		downErr = err
	} else {
		r, err := p.Down(ctx)
		if r != nil {
			out.Applied = append(out.Applied, r.Source.Version)
		}
		downErr = err
	}
	vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	if v, _, err := p.GetVersions(vctx); err == nil {
		out.To = v
	}
	cancel()
	out.Duration = time.Since(start)
	to := out.To
	u := catalog.TenantUpdate{SchemaVersion: &to, Event: &catalog.Event{Action: "tenant.migrate.down", Slug: t.Slug,
		Details: map[string]any{"server": t.Server, "from": out.From, "to": out.To, "rolled_back": out.Applied}}}
	if err := o.Store.UpdateTenant(context.WithoutCancel(ctx), t.ID, u); err != nil {
		return out, err
	}
	if downErr != nil {
		out.Err = migrations.Describe(downErr)
		out.Error = secret.Scrub(out.Err.Error())
		return out, fmt.Errorf("roll back tenant %q: %w", t.Slug, out.Err)
	}
	return out, nil
}
