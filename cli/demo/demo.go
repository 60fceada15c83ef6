// Package demo is `tenantctl demo`: a small working fleet, end to end.
package demo

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/backup"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	devcmd "github.com/tenantctl/tenantctl/cli/dev"
	servercmd "github.com/tenantctl/tenantctl/cli/server"
	tenantcmd "github.com/tenantctl/tenantctl/cli/tenant"
	"github.com/tenantctl/tenantctl/config"
	demolib "github.com/tenantctl/tenantctl/demo"
	"github.com/tenantctl/tenantctl/devenv"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/mover"
)

// Options are `demo`'s.
type Options struct {
	Factory *cmdutil.Factory
	// Dir and Servers are those of the local environment, when the demo starts one;
	// SetDir and SetServers say they were given (which starts it).
	Dir                string
	Servers            int
	SetDir, SetServers bool
}

// NewCmdDemo is `demo`; runF, when not nil, replaces the run.
func NewCmdDemo(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "demo [--dir DIR] [--servers N]",
		Short: "Build a small working fleet end to end (starts the local environment when no catalog is configured)",
		Long: `Build a small working fleet end to end, in these steps:

  1. when no catalog is configured (or --dir/--servers is given), start the local
     environment as 'tenantctl dev up' does: a control cluster (catalog, warehouse) and
     --servers tenant servers under --dir (default .tenantctl/dev beside the config
     file), and write the config file. A catalog configured only in the per-user config
     file (~/.config/tenantctl) is never used: it may be production;
  2. create three customer tenants (acme, globex, initech) spread over the servers, and
     fill each with a little service-desk data through its own credentials;
  3. roll out a schema change to the fleet: operator migrations written to
     .tenantctl/tenant-migrations (recorded in the config), applied in waves;
  4. roll every tenant's rows up into the MSP-only warehouse and print a cross-tenant
     summary from it;
  5. list the servers and tenants;
  6. run the isolation audit with live cross-tenant login probes;
  7. restore one customer to a point in time, in place: back up its server with
     pgBackRest, record the time, delete the customer's incidents, restore it to the
     recorded time (its DSN unchanged), and show the rows back and a neighbour on the
     same server untouched. Without pgbackrest installed (or with servers 'dev up
     --no-backup' made) the demo says so and skips this step only.

Running it again changes nothing. 'tenantctl dev down --purge' removes all of it.`,
		Example: `  tenantctl demo
  tenantctl demo --dir /var/tmp/tenantctl --servers 3`,
		Args:        cmdutil.NoArgs,
		Annotations: map[string]string{cmdutil.AnnotCreatesConfig: "true"},
		GroupID:     "local",
		RunE: cmdutil.RunE(opts, runF, run, func(cmd *cobra.Command, _ []string) error {
			opts.SetDir, opts.SetServers = cmd.Flags().Changed("dir"), cmd.Flags().Changed("servers")
			return nil
		}),
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "directory for the local clusters (default .tenantctl/dev beside the config file)")
	cmd.Flags().IntVar(&opts.Servers, "servers", 2, "number of tenant servers of the local environment")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	f := opts.Factory
	// The demo creates customers: it never uses a catalog found only in the
	// per-user config file (that may be production); it starts its own instead.
	userCatalog := f.ConfigSource == "user" && f.Flags.Catalog == "" && f.Getenv("TENANTCTL_CATALOG_DSN") == ""
	if userCatalog {
		f.File = config.File{}
	}
	if f.CatalogDSN() == "" || opts.SetDir || opts.SetServers {
		fmt.Fprintln(f.IO.Out, "==> starting the local environment (tenantctl dev up)")
		// The clusters live beside the config file (.tenantctl/dev by default).
		d := filepath.Join(filepath.Dir(f.Flags.Config), "dev")
		if opts.SetDir {
			d = opts.Dir
		} else if f.File.DevDir != "" {
			d = f.File.DevDir
		}
		env, err := devenv.Up(ctx, devenv.Options{Dir: d, Servers: opts.Servers, ConfigPath: f.Flags.Config, Log: f.Log})
		if err != nil {
			return err
		}
		devcmd.PrintDataMoved(f, env)
		if env.NoBackup != "" {
			fmt.Fprintf(f.IO.Out, "note: %s\n", env.NoBackup)
		}
		file, err := config.Load(f.Flags.Config, true)
		if err != nil {
			return err
		}
		f.File = file
	}
	env, err := f.Env(ctx)
	if err != nil {
		return err
	}
	p := env.Provisioner
	fmt.Fprintln(f.IO.Out, "==> creating demo customers and seeding them through their own credentials")
	res, err := demolib.Run(ctx, p)
	if err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "    created: %v  seeded: %v\n", res.Created, res.Seeded)
	if err := runMigrate(ctx, f, env); err != nil {
		return err
	}
	if err := runRollup(ctx, f, env); err != nil {
		return err
	}
	servers, err := p.Store.ListServers(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(f.IO.Out, "==> servers")
	if err := servercmd.PrintServers(f, servers); err != nil {
		return err
	}
	tenants, err := p.Store.ListTenants(ctx, catalog.TenantFilter{})
	if err != nil {
		return err
	}
	fmt.Fprintln(f.IO.Out, "==> tenants")
	if err := tenantcmd.PrintTenants(f, tenants); err != nil {
		return err
	}
	if err := runAudit(ctx, f, env); err != nil {
		return err
	}
	if err := runRestore(ctx, f, env); err != nil {
		return err
	}
	fmt.Fprintln(f.IO.Out, "==> done: try 'tenantctl tenant show acme', 'tenantctl audit -o markdown', 'tenantctl jobs', 'tenantctl backup list'")
	fmt.Fprintln(f.IO.Out, "==> console: 'tenantctl operator add me --role admin' prints a token; then 'tenantctl serve' and open http://127.0.0.1:8080 (log in as me with the token)")
	return nil
}

// runMigrate rolls out the demo's operator migration to the fleet, the way an MSP
// ships a schema change: an operator migrations directory recorded in the config, then
// a fleet run in waves.
func runMigrate(ctx context.Context, f *cmdutil.Factory, env *fleetenv.Env) error {
	dir := f.Setting(f.Root, "tenant-migrations", f.Flags.TenantMigrations, "TENANTCTL_TENANT_MIGRATIONS", f.File.TenantMigrations, "")
	if dir == "" {
		dir = filepath.Join(filepath.Dir(f.Flags.Config), devenv.DemoMigrationsDir)
		if err := demolib.WriteMigrations(dir); err != nil {
			return err
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		file, err := config.Load(f.Flags.Config, false)
		if err != nil {
			return err
		}
		file.TenantMigrations = abs
		if err := config.Write(f.Flags.Config, file); err != nil {
			return err
		}
		f.File.TenantMigrations = abs
		dir = abs
		fmt.Fprintf(f.IO.Out, "==> rolling out a schema change: operator migrations in %s (recorded in %s)\n", dir, f.Flags.Config)
	} else {
		fmt.Fprintf(f.IO.Out, "==> applying pending migrations from %s\n", dir)
	}
	fsys, err := migrations.Dir(dir)
	if err != nil {
		return err
	}
	env.UseMigrations(fsys)
	res, err := jobs.Migrate.Run(ctx, env, jobs.MigrateOptions(env, fleet.Options{Log: f.Log}))
	if err != nil {
		return err
	}
	t := res.Totals()
	fmt.Fprintf(f.IO.Out, "    %d tenant(s) migrated, %d already current, %d failed\n", t.Migrated, t.Current, t.Failed)
	return nil
}

// runAudit ends the demo with the isolation audit, live probes included.
func runAudit(ctx context.Context, f *cmdutil.Factory, env *fleetenv.Env) error {
	fmt.Fprintln(f.IO.Out, "==> isolation audit (configuration checks and live cross-tenant login probes)")
	r, err := jobs.Audit.Run(ctx, env, jobs.AuditOptions(env, fleet.Options{Log: f.Log}))
	if r.Tenants == 0 && err != nil {
		return err
	}
	if werr := audit.WriteText(f.IO.Out, r); werr != nil {
		return werr
	}
	if err != nil {
		return cmdutil.ErrSilent
	}
	return nil
}

// runRestore ends the demo with a point-in-time restore of one customer, in place:
// a backup, the time recorded, the customer's incidents deleted, the customer restored
// to that time under the same DSN, its rows back and a neighbour untouched. Without
// pgBackRest it says so and skips only this.
func runRestore(ctx context.Context, f *cmdutil.Factory, env *fleetenv.Env) error {
	p := env.Provisioner
	const slug = "acme"
	fmt.Fprintf(f.IO.Out, "==> point-in-time restore of one customer (%s), in place\n", slug)
	t, err := p.Store.GetTenant(ctx, slug)
	if err != nil {
		return err
	}
	if !backup.Installed() {
		fmt.Fprintf(f.IO.Out, "    skipped: %s\n", devenv.NoPgBackRest)
		return nil
	}
	settings, err := p.Store.GetBackupSettings(ctx, t.Server)
	if errors.Is(err, catalog.ErrNoBackupSettings) {
		fmt.Fprintf(f.IO.Out, "    skipped: server %s has no pgBackRest stanza (made by 'dev up --no-backup' or before pgbackrest was installed: run 'tenantctl dev up' again)\n", t.Server)
		return nil
	} else if err != nil {
		return err
	}
	// The neighbour: another customer on the same server when there is one.
	tenants, err := p.Store.ListTenants(ctx, catalog.TenantFilter{})
	if err != nil {
		return err
	}
	var nb *catalog.Tenant
	for i := range tenants {
		if x := &tenants[i]; x.Slug != slug && x.State == catalog.StateActive && (nb == nil || (x.Server == t.Server && nb.Server != t.Server)) {
			nb = x
		}
	}
	if nb == nil {
		return fmt.Errorf("the demo has no neighbour of %s", slug)
	}
	dsn, err := p.AppDSN(ctx, slug)
	if err != nil {
		return err
	}
	nbDSN, err := p.AppDSN(ctx, nb.Slug)
	if err != nil {
		return err
	}
	res, err := jobs.Backup.Run(ctx, env, backup.RunOptions{Env: jobs.BackupEnv(env, f.Log), Server: t.Server})
	if err != nil {
		return err
	}
	for _, r := range res {
		fmt.Fprintf(f.IO.Out, "    server %s backed up with pgBackRest: %s backup %s (%s)\n", r.Server, r.Type, r.Label, r.Duration.Round(time.Millisecond))
	}
	// pgBackRest keeps a backup's stop time in whole seconds: a restore time a second
	// after it is safely after the backup.
	time.Sleep(1100 * time.Millisecond)
	before, err := demolib.ReadState(ctx, dsn)
	if err != nil {
		return err
	}
	nbBefore, err := demolib.ReadState(ctx, nbDSN)
	if err != nil {
		return err
	}
	at := time.Now().UTC()
	fmt.Fprintf(f.IO.Out, "    recorded the time %s; %s has %s\n", at.Format(time.RFC3339Nano), slug, before)
	time.Sleep(100 * time.Millisecond)
	n, err := demolib.DeleteIncidents(ctx, dsn)
	if err != nil {
		return err
	}
	after, err := demolib.ReadState(ctx, dsn)
	if err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "    oops: %d incident(s) of %s deleted; it has %s\n", n, slug, after)
	// pgbackrest check has the server archive its current WAL segment and waits for it
	// to reach the repository; the server's archiver records it a moment later, and the
	// window is read from there, so wait for the window to reach the recorded time.
	if err := backup.Check(ctx, settings); err != nil {
		return err
	}
	if _, err := backup.WaitCovered(ctx, jobs.BackupEnv(env, f.Log), t.Server, at, time.Minute); err != nil {
		return err
	}
	keep := time.Duration(0)
	m := env.Mover()
	rr, err := m.Restore(ctx, mover.RestoreOptions{Slug: slug, Time: at, KeepSource: &keep})
	if err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "    tenant restore %s --time %s: %d tables, %d rows verified, downtime %s, total %s (same DSN)\n",
		slug, at.Format(time.RFC3339Nano), rr.Tables, rr.Rows, rr.Downtime.Round(time.Millisecond), rr.Duration.Round(time.Millisecond))
	restored, err := demolib.ReadState(ctx, dsn)
	if err != nil {
		return err
	}
	nbAfter, err := demolib.ReadState(ctx, nbDSN)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(restored, before) {
		return fmt.Errorf("the restored %s has %s, not the recorded %s", slug, restored, before)
	}
	fmt.Fprintf(f.IO.Out, "    %s has its rows back through its own DSN: %s (checksums equal to the recorded time's)\n", slug, restored)
	if !reflect.DeepEqual(nbAfter, nbBefore) {
		return fmt.Errorf("neighbour %s changed: %s, was %s", nb.Slug, nbAfter, nbBefore)
	}
	where := "on the same server " + t.Server
	if nb.Server != t.Server {
		where = "on server " + nb.Server
	}
	fmt.Fprintf(f.IO.Out, "    neighbour %s %s untouched: %s\n", nb.Slug, where, nbAfter)
	fmt.Fprintln(f.IO.Out, "    the warehouse copies the restored customer again at its next rollup ('tenantctl rollup')")
	return nil
}

// runRollup copies every tenant's rows into the warehouse and prints a cross-tenant
// summary from it: the MSP's one place to see all customers.
func runRollup(ctx context.Context, f *cmdutil.Factory, env *fleetenv.Env) error {
	o, err := jobs.RollupOptions(env, fleet.Options{Log: f.Log})
	if err != nil {
		return err
	}
	fmt.Fprintln(f.IO.Out, "==> rolling every tenant's rows up into the MSP-only warehouse")
	res, err := jobs.Rollup.Run(ctx, env, o)
	if err != nil {
		return err
	}
	t := res.Totals()
	fmt.Fprintf(f.IO.Out, "    %d tenant(s), %d row(s) copied, %d deleted\n", t.Tenants, t.RowsCopied, t.RowsDeleted)
	dsn, err := env.Store.WarehouseDSN(ctx)
	if err != nil {
		return err
	}
	rows, err := demolib.Summary(ctx, dsn)
	if err != nil {
		return err
	}
	fmt.Fprintln(f.IO.Out, "==> cross-tenant summary, from the warehouse")
	tw := f.Table("CUSTOMER", "NAME", "USERS", "SYSTEMS", "OPEN INCIDENTS", "P1 OPEN")
	for _, r := range rows {
		cmdutil.Row(tw, r.Slug, r.Name, r.Users, r.Systems, r.OpenIncidents, r.Priority1)
	}
	return tw.Flush()
}
