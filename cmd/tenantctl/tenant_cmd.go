package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/rollup"
	"github.com/tenantctl/tenantctl/tenantdb"
)

func (a *app) tenantCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Create, inspect, suspend, delete and purge customer tenants"}
	cmd.AddCommand(a.tenantCreateCmd(), a.tenantListCmd(), a.tenantShowCmd(), a.tenantDSNCmd(),
		a.tenantSimpleCmd("rotate-credentials", "Give the tenant's application a new password; the old one stops working",
			func(p *provisioner.Provisioner, cmd *cobra.Command, slug string) error {
				return p.RotateCredentials(cmd.Context(), slug)
			}),
		a.tenantSimpleCmd("suspend", "Stop the tenant's application from logging in and end its sessions",
			func(p *provisioner.Provisioner, cmd *cobra.Command, slug string) error {
				return p.Suspend(cmd.Context(), slug)
			}),
		a.tenantSimpleCmd("resume", "Let a suspended tenant's application log in again",
			func(p *provisioner.Provisioner, cmd *cobra.Command, slug string) error {
				return p.Resume(cmd.Context(), slug)
			}),
		a.tenantDeleteCmd(),
		a.tenantSimpleCmd("cancel-delete", "Take a deleted tenant back before it is purged: it becomes suspended (then 'tenant resume')",
			func(p *provisioner.Provisioner, cmd *cobra.Command, slug string) error {
				return p.CancelDelete(cmd.Context(), slug)
			}),
		a.tenantPurgeCmd())
	cmd.AddCommand(a.tenantMoveCmd(), a.tenantExportCmd(), a.tenantRestoreCmd()) // data mobility: move_cmd.go
	return cmd
}

func (a *app) tenantCreateCmd() *cobra.Command {
	var o provisioner.CreateOptions
	var batch struct {
		file        string
		concurrency int
	}
	var fromDump string
	var baseline int64
	cmd := &cobra.Command{
		Use:   "create SLUG --name NAME --domain DOMAIN [--server NAME] [--label k=v]... [--contact-email E] [--from-dump FILE [--baseline N]]",
		Short: "Provision a customer tenant: its own database and roles, hardened, at the latest schema",
		Long: `Provision a customer tenant on one of the registered servers: a database t_<id> owned
by the NOLOGIN role t_<id>_owner, an application role t_<id>_app (LOGIN, DML only) with
a random password kept encrypted in the catalog, nothing for PUBLIC, at the latest
tenant schema (cloned from the server's pre-migrated template).

The email domain is unique across the catalog and can never change. If the command is
interrupted, run it again with the same arguments (or 'tenantctl reconcile') to finish.
Creates of one slug run one at a time: a create that waited behind another live run
creating the same tenant says so and exits 0 when the spec is the same (name, domain,
and any server, labels or contact given), 2 when it differs; only a tenant left
unfinished by a run that is gone is resumed ("resuming interrupted provisioning").

When the server keeps a warm pool ('server set NAME --spares N'), the tenant is made
from a spare database, ready before the command ran: one catalog transaction and one
ALTER ROLE. Without a spare it is cloned from the template as before.

--from-file creates many tenants from a CSV file, one per line:
  slug,name,domain[,server,labels,contact]
with an optional header line naming those columns and labels as k=v pairs separated by
';'. Rows run --concurrency at a time; each row's result is printed. A row that fails
fails alone (the others are created) and the command exits 1 naming the failed lines;
a file that is not such a CSV is refused as a whole (exit 2, nothing created).

--from-dump FILE restores the database from a customer's existing pg_dump archive
(pg_dump --format=custom) instead: objects owned by the tenant's owner role, hardened
like every tenant, its schema version read from the dump's goose_db_version table, then
migrated to the latest. A file that is not such an archive, that carries extensions or
objects the audit forbids (dblink, postgres_fdw, foreign servers, subscriptions...), or
that has no goose version table is refused (exit 2) and nothing is created — unless
--baseline N says which tenant migration version the customer's schema matches: after
the restore, the objects the migrations up to N create are checked (the import fails
and is undone, listing what is missing, if any is) and versions 1..N recorded as
applied in goose's table, as 'tenantctl migrate baseline' does; then the migrations
above N run.
Interrupted, run it again to restart the restore; 'tenantctl reconcile' undoes it.`,
		Example: `  tenantctl tenant create acme --name "Acme Corp" --domain acme.example
  tenantctl tenant create globex --name "Globex" --domain globex.example --label zone=eu1   # only on a server labelled zone=eu1
  tenantctl tenant create initech --name "Initech" --domain initech.example --from-dump initech.dump
  tenantctl tenant create hooli --name "Hooli" --domain hooli.example --from-dump hooli.dump --baseline 3   # a legacy database, no goose table
  tenantctl tenant create --from-file tenants.csv --concurrency 4`,
		Args: func(cmd *cobra.Command, args []string) error {
			if batch.file != "" {
				return noArgs(cmd, args)
			}
			return exactArgs(1, "a tenant SLUG (or --from-file FILE)")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if batch.file != "" {
				return a.createBatch(cmd, o, batch.file, batch.concurrency)
			}
			o.Slug = args[0]
			if _, err := o.Validate(); err != nil {
				return err
			}
			p, done, err := a.provisioner(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			start := time.Now()
			var t catalog.Tenant
			outcome := provisioner.Created
			if fromDump != "" {
				t, err = a.importTenant(cmd, p, o, fromDump, baseline) // move_cmd.go
			} else if cmd.Flags().Changed("baseline") {
				return validate.Errorf("--baseline applies to --from-dump only (for an existing tenant: tenantctl migrate baseline SLUG --version N)")
			} else {
				t, outcome, err = p.CreateWithOutcome(cmd.Context(), o)
			}
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(t)
			}
			if outcome == provisioner.CreatedByAnother {
				fmt.Fprintf(a.out, "tenant %s was created by another run meanwhile (same spec) on %s: database %s, schema version %d\n",
					t.Slug, t.Server, t.Database, t.SchemaVersion)
				return nil
			}
			fmt.Fprintf(a.out, "tenant %s created on %s: database %s, schema version %d (%s)\n",
				t.Slug, t.Server, t.Database, t.SchemaVersion, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Name, "name", "", "display name (required, 1-200 characters)")
	f.StringVar(&o.Domain, "domain", "", "the customer's email domain (required, unique, immutable)")
	f.StringVar(&o.Server, "server", "", "server to place the tenant on (default: the non-draining server with the most free capacity)")
	f.StringArrayVar(&o.Labels, "label", nil, "placement filter k=v: only a server labelled k=v (server add --label) may hold the tenant; repeatable, all must match; recorded with the tenant as its placement requirement, not as free-form metadata")
	f.StringVar(&o.ContactEmail, "contact-email", "", "contact address, under the tenant's domain")
	f.StringVar(&batch.file, "from-file", "", "create every tenant listed in this CSV file (slug,name,domain[,server,labels,contact]; '-' for stdin)")
	f.IntVar(&batch.concurrency, "concurrency", 4, "with --from-file: tenants created at once")
	f.StringVar(&fromDump, "from-dump", "", "restore the database from this pg_dump custom-format archive of the customer's existing database instead of the template")
	f.Int64Var(&baseline, "baseline", 0, "with --from-dump: the tenant migration version the customer's schema matches; checked, recorded as applied, the rest migrated")
	f.BoolVar(&o.SlowPath, "no-template", false, "create the database empty and run every migration instead of cloning the template")
	return cmd
}

func (a *app) tenantListCmd() *cobra.Command {
	var f catalog.TenantFilter
	var state string
	cmd := &cobra.Command{
		Use:   "list [--state S] [--server NAME]",
		Short: "List tenants",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if state != "" {
				f.States = []string{state}
			}
			store, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			return a.streamTenants(cmd.Context(), store, f)
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only tenants in this state: provisioning, active, suspended, deleting, failed, purged")
	cmd.Flags().StringVar(&f.Server, "server", "", "only tenants on this server")
	return cmd
}

type tenantWithStats struct {
	catalog.Tenant
	Stats *tenantdb.Stats `json:"stats"`
}

func (a *app) tenantShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show SLUG",
		Short: "Show a tenant with live statistics (rows per rolled-up table, database size)",
		Args:  exactArgs(1, "a tenant SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := rollup.LoadSpec(a.rollupSpecPath())
			if err != nil {
				return err
			}
			p, done, err := a.provisioner(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			t, err := p.Store.GetTenant(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := tenantWithStats{Tenant: t}
			var statsErr error
			if t.State == catalog.StateActive || t.State == catalog.StateSuspended {
				st, err := p.Stats(cmd.Context(), t, spec.TableNames())
				if err != nil {
					statsErr = err
					a.log.Warn("live statistics unavailable", "tenant", t.Slug, "error", err)
				} else {
					out.Stats = &st
				}
			}
			if a.jsonOutput() {
				return a.printJSON(out)
			}
			tw := a.table("FIELD", "VALUE")
			row(tw, "slug", t.Slug)
			row(tw, "id", t.ID)
			row(tw, "name", t.Name)
			row(tw, "domain", t.Domain)
			row(tw, "state", t.State)
			row(tw, "server", t.Server)
			row(tw, "database", t.Database)
			row(tw, "schema version", t.SchemaVersion)
			row(tw, "labels", dash(validate.FormatLabels(t.Labels)))
			row(tw, "contact", dash(t.ContactEmail))
			row(tw, "created", t.CreatedAt.Local().Format(time.DateTime))
			if t.LastError != "" {
				row(tw, "last error", t.LastError)
			}
			if t.MigrationError != "" {
				row(tw, "migration error", t.MigrationError)
			}
			if out.Stats != nil {
				row(tw, "database size", fmt.Sprintf("%d bytes", out.Stats.SizeBytes))
				for _, name := range spec.TableNames() {
					if n, ok := out.Stats.Rows[name]; ok {
						row(tw, "rows in "+name, n)
					}
				}
			} else if statsErr != nil {
				row(tw, "stats", "unavailable: "+statsErr.Error())
			}
			return tw.Flush()
		},
	}
}

func (a *app) tenantDSNCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "dsn SLUG",
		Short: "Print the tenant application's connection string (contains its password)",
		Args:  exactArgs(1, "a tenant SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, done, err := a.provisioner(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			dsn, err := p.AppDSN(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(a.out, dsn)
			return nil
		},
	}
}

func (a *app) tenantSimpleCmd(use, short string, fn func(p *provisioner.Provisioner, cmd *cobra.Command, slug string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use + " SLUG",
		Short: short,
		Args:  exactArgs(1, "a tenant SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, done, err := a.provisioner(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			if err := fn(p, cmd, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "tenant %s: %s done\n", args[0], use)
			return nil
		},
	}
}

func (a *app) tenantDeleteCmd() *cobra.Command {
	var o provisioner.DeleteOptions
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "delete SLUG --confirm SLUG [--purge]",
		Short: "Revoke all access to a tenant and mark it deleting (purged after the retention period)",
		Long: `Delete a tenant in two phases. This command revokes its application's access, ends its
sessions and marks it deleting; its data stays until 'tenant purge' (or the scheduler's
purge after the retention period, 7 days by default). --purge destroys it at once.`,
		Args: exactArgs(1, "a tenant SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Slug = args[0]
			if err := provisioner.Confirm("delete", o.Slug, o.Confirm); err != nil {
				return err
			}
			p, done, err := a.provisioner(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			if dryRun {
				pl, err := p.PlanDelete(cmd.Context(), o)
				if err != nil {
					return err
				}
				return a.printPlans("deleted", []provisioner.Plan{pl})
			}
			if err := p.Delete(cmd.Context(), o); err != nil {
				return err
			}
			if o.Purge {
				fmt.Fprintf(a.out, "tenant %s deleted and purged\n", o.Slug)
			} else {
				fmt.Fprintf(a.out, "tenant %s deleted: access revoked; data is purged after the retention period (or: tenantctl tenant purge %s --confirm %s)\n", o.Slug, o.Slug, o.Slug)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Confirm, "confirm", "", "the tenant's slug again, to confirm")
	cmd.Flags().BoolVar(&o.Purge, "purge", false, "purge at once: drop the database, roles, warehouse rows and credentials")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would be done and change nothing")
	return cmd
}

func (a *app) tenantPurgeCmd() *cobra.Command {
	var confirm string
	var expired, dryRun, yes bool
	var retention time.Duration
	cmd := &cobra.Command{
		Use:   "purge [--expired [--yes] | SLUG --confirm SLUG] [--dry-run]",
		Short: "Destroy deleted tenants: database, roles, warehouse rows and credentials",
		Args: func(cmd *cobra.Command, args []string) error {
			if expired && len(args) == 0 {
				return nil
			}
			if !expired && len(args) == 1 {
				return nil
			}
			return validate.Errorf("use either 'tenant purge --expired' or 'tenant purge SLUG --confirm SLUG'")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if !expired {
				if err := provisioner.Confirm("purge", args[0], confirm); err != nil {
					return err
				}
			}
			if retention < 0 {
				return validate.Errorf("invalid --retention %s", retention)
			}
			p, done, err := a.provisioner(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			if dryRun {
				var plans []provisioner.Plan
				if expired {
					plans, err = p.PlanPurgeExpired(cmd.Context(), retention)
				} else {
					var pl provisioner.Plan
					pl, err = p.PlanPurge(cmd.Context(), args[0], confirm)
					plans = []provisioner.Plan{pl}
				}
				if err != nil {
					return err
				}
				return a.printPlans("purged", plans)
			}
			if expired {
				due, err := p.ExpiredTenants(cmd.Context(), retention)
				if err != nil {
					return err
				}
				slugs := make([]string, len(due))
				for i, t := range due {
					slugs[i] = t.Slug
				}
				if err := a.confirmPurge(slugs, yes); err != nil {
					return err
				}
			}
			if !expired {
				if err := p.Purge(cmd.Context(), args[0], confirm); err != nil {
					if errors.Is(err, provisioner.ErrWrongState) {
						return fmt.Errorf("%w (tenantctl tenant delete %s --confirm %s)", err, args[0], args[0])
					}
					return err
				}
				fmt.Fprintf(a.out, "tenant %s purged\n", args[0])
				return nil
			}
			purged, err := p.PurgeExpired(cmd.Context(), retention)
			for _, s := range purged {
				fmt.Fprintf(a.out, "tenant %s purged\n", s)
			}
			if err == nil {
				fmt.Fprintf(a.out, "%d expired tenants purged\n", len(purged))
			}
			return err
		},
	}
	cmd.Flags().StringVar(&confirm, "confirm", "", "the tenant's slug again, to confirm")
	cmd.Flags().BoolVar(&expired, "expired", false, "purge every tenant deleted longer ago than --retention")
	cmd.Flags().DurationVar(&retention, "retention", provisioner.DefaultRetention, "how long deleted tenants are kept before --expired purges them")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would be purged and change nothing")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "purge --expired without asking (required when stdin is not a terminal)")
	return cmd
}

func (a *app) printTenants(tenants []catalog.Tenant) error {
	if a.jsonOutput() {
		return a.printJSON(tenants)
	}
	tw := a.table("SLUG", "NAME", "DOMAIN", "STATE", "SERVER", "DATABASE", "VERSION")
	for _, t := range tenants {
		row(tw, t.Slug, t.Name, t.Domain, t.State, t.Server, t.Database, t.SchemaVersion)
	}
	return tw.Flush()
}
