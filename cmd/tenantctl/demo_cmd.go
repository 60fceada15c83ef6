package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/demo"
	"github.com/tenantctl/tenantctl/devenv"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/rollout"
	"github.com/tenantctl/tenantctl/rollup"
)

func (a *app) demoCmd() *cobra.Command {
	var dir string
	var servers int
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
		Args:        noArgs,
		Annotations: map[string]string{annotCreatesConfig: "true"},
		GroupID:     "local",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			// The demo creates customers: it never uses a catalog found only in the
			// per-user config file (that may be production); it starts its own instead.
			userCatalog := a.configSource == "user" && a.flags.catalog == "" && a.getenv("TENANTCTL_CATALOG_DSN") == ""
			if userCatalog {
				a.file = config.File{}
			}
			if a.catalogDSN() == "" || cmd.Flags().Changed("dir") || cmd.Flags().Changed("servers") {
				fmt.Fprintln(a.out, "==> starting the local environment (tenantctl dev up)")
				// The clusters live beside the config file (.tenantctl/dev by default).
				d := filepath.Join(filepath.Dir(a.flags.config), "dev")
				if cmd.Flags().Changed("dir") {
					d = dir
				} else if a.file.DevDir != "" {
					d = a.file.DevDir
				}
				env, err := devenv.Up(ctx, devenv.Options{Dir: d, Servers: servers, ConfigPath: a.flags.config, Log: a.log})
				if err != nil {
					return err
				}
				a.printDataMoved(env)
				f, err := config.Load(a.flags.config, true)
				if err != nil {
					return err
				}
				a.file = f
			}
			p, done, err := a.provisioner(ctx)
			if err != nil {
				return err
			}
			defer done()
			fmt.Fprintln(a.out, "==> creating demo customers and seeding them through their own credentials")
			res, err := demo.Run(ctx, p)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "    created: %v  seeded: %v\n", res.Created, res.Seeded)
			if err := a.demoMigrate(ctx, p); err != nil {
				return err
			}
			if err := a.demoRollup(ctx, p); err != nil {
				return err
			}
			servers, err := p.Store.ListServers(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.out, "==> servers")
			if err := a.printServers(servers); err != nil {
				return err
			}
			tenants, err := p.Store.ListTenants(ctx, catalog.TenantFilter{})
			if err != nil {
				return err
			}
			fmt.Fprintln(a.out, "==> tenants")
			if err := a.printTenants(tenants); err != nil {
				return err
			}
			return a.demoAudit(ctx, p)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the local clusters (default .tenantctl/dev beside the config file)")
	cmd.Flags().IntVar(&servers, "servers", 2, "number of tenant servers of the local environment")
	return cmd
}

// demoMigrate rolls out the demo's operator migration to the fleet, the way an MSP
// ships a schema change: an operator migrations directory recorded in the config, then
// a fleet run in waves.
func (a *app) demoMigrate(ctx context.Context, p *provisioner.Provisioner) error {
	dir := a.setting(a.root, "tenant-migrations", a.flags.tenantMigrations, "TENANTCTL_TENANT_MIGRATIONS", a.file.TenantMigrations, "")
	if dir == "" {
		dir = filepath.Join(filepath.Dir(a.flags.config), devenv.DemoMigrationsDir)
		if err := demo.WriteMigrations(dir); err != nil {
			return err
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		f, err := config.Load(a.flags.config, false)
		if err != nil {
			return err
		}
		f.TenantMigrations = abs
		if err := config.Write(a.flags.config, f); err != nil {
			return err
		}
		a.file.TenantMigrations = abs
		dir = abs
		fmt.Fprintf(a.out, "==> rolling out a schema change: operator migrations in %s (recorded in %s)\n", dir, a.flags.config)
	} else {
		fmt.Fprintf(a.out, "==> applying pending migrations from %s\n", dir)
	}
	fsys, err := migrations.Dir(dir)
	if err != nil {
		return err
	}
	p.TenantMigrations = fsys
	res, err := jobs.Migrate.Run(ctx, p.Store, hostname(), rollout.Options{Store: p.Store, Migrations: fsys, Options: fleet.Options{Log: a.log}})
	if err != nil {
		return err
	}
	t := res.Totals()
	fmt.Fprintf(a.out, "    %d tenant(s) migrated, %d already current, %d failed\n", t.Migrated, t.Current, t.Failed)
	return nil
}

// demoAudit ends the demo with the isolation audit, live probes included.
func (a *app) demoAudit(ctx context.Context, p *provisioner.Provisioner) error {
	fmt.Fprintln(a.out, "==> isolation audit (configuration checks and live cross-tenant login probes)")
	r, err := jobs.Audit.Run(ctx, p.Store, hostname(), audit.Options{Store: p.Store, Node: hostname(), Options: fleet.Options{Log: a.log}})
	if r.Tenants == 0 && err != nil {
		return err
	}
	if werr := audit.WriteText(a.out, r); werr != nil {
		return werr
	}
	if err != nil {
		return errSilent
	}
	fmt.Fprintln(a.out, "==> done: try 'tenantctl tenant show acme', 'tenantctl audit -o markdown', 'tenantctl jobs'")
	fmt.Fprintln(a.out, "==> console: 'tenantctl operator add me --role admin' prints a token; then 'tenantctl serve' and open http://127.0.0.1:8080 (log in as me with the token)")
	return nil
}

// demoRollup copies every tenant's rows into the warehouse and prints a cross-tenant
// summary from it: the MSP's one place to see all customers.
func (a *app) demoRollup(ctx context.Context, p *provisioner.Provisioner) error {
	spec, err := rollup.LoadSpec(a.rollupSpecPath())
	if err != nil {
		return err
	}
	fmt.Fprintln(a.out, "==> rolling every tenant's rows up into the MSP-only warehouse")
	res, err := jobs.Rollup.Run(ctx, p.Store, hostname(), rollup.Options{Store: p.Store, Spec: spec, Options: fleet.Options{Log: a.log}})
	if err != nil {
		return err
	}
	t := res.Totals()
	fmt.Fprintf(a.out, "    %d tenant(s), %d row(s) copied, %d deleted\n", t.Tenants, t.RowsCopied, t.RowsDeleted)
	dsn, err := p.Store.WarehouseDSN(ctx)
	if err != nil {
		return err
	}
	rows, err := demo.Summary(ctx, dsn)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.out, "==> cross-tenant summary, from the warehouse")
	tw := a.table("CUSTOMER", "NAME", "USERS", "SYSTEMS", "OPEN INCIDENTS", "P1 OPEN")
	for _, r := range rows {
		row(tw, r.Slug, r.Name, r.Users, r.Systems, r.OpenIncidents, r.Priority1)
	}
	return tw.Flush()
}
