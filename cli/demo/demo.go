// Package demo is `tenantctl demo`: a small working fleet, end to end.
package demo

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	devcmd "github.com/tenantctl/tenantctl/cli/dev"
	servercmd "github.com/tenantctl/tenantctl/cli/server"
	tenantcmd "github.com/tenantctl/tenantctl/cli/tenant"
	"github.com/tenantctl/tenantctl/config"
	demolib "github.com/tenantctl/tenantctl/demo"
	"github.com/tenantctl/tenantctl/devenv"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/rollout"
	"github.com/tenantctl/tenantctl/rollup"
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
	if runF == nil {
		runF = run
	}
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
  6. run the isolation audit with live cross-tenant login probes.

Running it again changes nothing. 'tenantctl dev down --purge' removes all of it.`,
		Example: `  tenantctl demo
  tenantctl demo --dir /var/tmp/tenantctl --servers 3`,
		Args:        cmdutil.NoArgs,
		Annotations: map[string]string{cmdutil.AnnotCreatesConfig: "true"},
		GroupID:     "local",
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.SetDir, opts.SetServers = cmd.Flags().Changed("dir"), cmd.Flags().Changed("servers")
			return runF(cmd.Context(), opts)
		},
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
		file, err := config.Load(f.Flags.Config, true)
		if err != nil {
			return err
		}
		f.File = file
	}
	p, done, err := f.Provisioner(ctx)
	if err != nil {
		return err
	}
	defer done()
	fmt.Fprintln(f.IO.Out, "==> creating demo customers and seeding them through their own credentials")
	res, err := demolib.Run(ctx, p)
	if err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "    created: %v  seeded: %v\n", res.Created, res.Seeded)
	if err := runMigrate(ctx, f, p); err != nil {
		return err
	}
	if err := runRollup(ctx, f, p); err != nil {
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
	return runAudit(ctx, f, p)
}

// runMigrate rolls out the demo's operator migration to the fleet, the way an MSP
// ships a schema change: an operator migrations directory recorded in the config, then
// a fleet run in waves.
func runMigrate(ctx context.Context, f *cmdutil.Factory, p *provisioner.Provisioner) error {
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
	p.TenantMigrations = fsys
	res, err := jobs.Migrate.Run(ctx, p.Store, cmdutil.Hostname(), rollout.Options{Store: p.Store, Migrations: fsys, Options: fleet.Options{Log: f.Log}})
	if err != nil {
		return err
	}
	t := res.Totals()
	fmt.Fprintf(f.IO.Out, "    %d tenant(s) migrated, %d already current, %d failed\n", t.Migrated, t.Current, t.Failed)
	return nil
}

// runAudit ends the demo with the isolation audit, live probes included.
func runAudit(ctx context.Context, f *cmdutil.Factory, p *provisioner.Provisioner) error {
	fmt.Fprintln(f.IO.Out, "==> isolation audit (configuration checks and live cross-tenant login probes)")
	r, err := jobs.Audit.Run(ctx, p.Store, cmdutil.Hostname(), audit.Options{Store: p.Store, Node: cmdutil.Hostname(), Options: fleet.Options{Log: f.Log}})
	if r.Tenants == 0 && err != nil {
		return err
	}
	if werr := audit.WriteText(f.IO.Out, r); werr != nil {
		return werr
	}
	if err != nil {
		return cmdutil.ErrSilent
	}
	fmt.Fprintln(f.IO.Out, "==> done: try 'tenantctl tenant show acme', 'tenantctl audit -o markdown', 'tenantctl jobs'")
	fmt.Fprintln(f.IO.Out, "==> console: 'tenantctl operator add me --role admin' prints a token; then 'tenantctl serve' and open http://127.0.0.1:8080 (log in as me with the token)")
	return nil
}

// runRollup copies every tenant's rows into the warehouse and prints a cross-tenant
// summary from it: the MSP's one place to see all customers.
func runRollup(ctx context.Context, f *cmdutil.Factory, p *provisioner.Provisioner) error {
	spec, err := rollup.LoadSpec(f.RollupSpecPath())
	if err != nil {
		return err
	}
	fmt.Fprintln(f.IO.Out, "==> rolling every tenant's rows up into the MSP-only warehouse")
	res, err := jobs.Rollup.Run(ctx, p.Store, cmdutil.Hostname(), rollup.Options{Store: p.Store, Spec: spec, Options: fleet.Options{Log: f.Log}})
	if err != nil {
		return err
	}
	t := res.Totals()
	fmt.Fprintf(f.IO.Out, "    %d tenant(s), %d row(s) copied, %d deleted\n", t.Tenants, t.RowsCopied, t.RowsDeleted)
	dsn, err := p.Store.WarehouseDSN(ctx)
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
