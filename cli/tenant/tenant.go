// Package tenant is `tenantctl tenant`: create, inspect, suspend, delete, purge, move and
// export customer tenants.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/mover"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// NewCmdTenant is `tenantctl tenant`; more are subcommands that live with their area
// (tenant restore, with backups).
func NewCmdTenant(f *cmdutil.Factory, more ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Create, inspect, suspend, delete and purge customer tenants"}
	cmd.AddCommand(NewCmdCreate(f, nil), NewCmdList(f, nil), NewCmdShow(f, nil), NewCmdDSN(f, nil))
	for _, v := range simpleCommands {
		cmd.AddCommand(NewCmdSimple(f, v.use, v.short, v.example, nil))
	}
	cmd.AddCommand(NewCmdDelete(f, nil), NewCmdPurge(f, nil))
	cmd.AddCommand(NewCmdMove(f, nil), NewCmdExport(f, nil))
	cmd.AddCommand(more...)
	return cmd
}

// CreateOptions are `tenant create`'s: the library's options as the flags give them,
// or a batch file.
type CreateOptions struct {
	Factory *cmdutil.Factory
	Create  provisioner.CreateOptions
	// FromFile is the batch file ("-" for stdin); Concurrency its tenants created at once.
	FromFile    string
	Concurrency int
	// FromDump is the pg_dump archive to restore; Baseline (when SetBaseline) the
	// version its schema matches.
	FromDump    string
	Baseline    int64
	SetBaseline bool
}

// oneTenantFlags apply to one tenant and are refused with --from-file.
var oneTenantFlags = []string{"name", "domain", "server", "label", "contact-email", "from-dump"}

// NewCmdCreate is `tenant create`; runF, when not nil, replaces the run.
func NewCmdCreate(f *cmdutil.Factory, runF func(context.Context, *CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{Factory: f}
	o := &opts.Create
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
			if opts.FromFile != "" {
				return cmdutil.NoArgs(cmd, args)
			}
			return cmdutil.ExactArgs(1, "a tenant SLUG (or --from-file FILE)")(cmd, args)
		},
		RunE: cmdutil.RunE(opts, runF, runCreate, func(cmd *cobra.Command, args []string) error {
			opts.SetBaseline = cmd.Flags().Changed("baseline")
			if opts.FromFile != "" {
				// Flags given for one tenant (--name, --domain, ...) make no sense for a
				// file and are refused.
				for _, name := range oneTenantFlags {
					if cmd.Flags().Changed(name) {
						return validate.Errorf("--%s applies to one tenant; with --from-file put it in the file's columns", name)
					}
				}
				if opts.Concurrency < 1 || opts.Concurrency > 64 {
					return validate.Errorf("invalid --concurrency %d: use 1 to 64", opts.Concurrency)
				}
				return nil
			}
			o.Slug = args[0]
			_, err := o.Validate()
			return err
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Name, "name", "", "display name (required, 1-200 characters)")
	fl.StringVar(&o.Domain, "domain", "", "the customer's email domain (required, unique, immutable)")
	fl.StringVar(&o.Server, "server", "", "server to place the tenant on (default: the non-draining server with the most free capacity)")
	fl.StringArrayVar(&o.Labels, "label", nil, "placement filter k=v: only a server labelled k=v (server add --label) may hold the tenant; repeatable, all must match; recorded with the tenant as its placement requirement, not as free-form metadata")
	fl.StringVar(&o.ContactEmail, "contact-email", "", "contact address, under the tenant's domain")
	fl.StringVar(&opts.FromFile, "from-file", "", "create every tenant listed in this CSV file (slug,name,domain[,server,labels,contact]; '-' for stdin)")
	fl.IntVar(&opts.Concurrency, "concurrency", 4, "with --from-file: tenants created at once")
	fl.StringVar(&opts.FromDump, "from-dump", "", "restore the database from this pg_dump custom-format archive of the customer's existing database instead of the template")
	fl.Int64Var(&opts.Baseline, "baseline", 0, "with --from-dump: the tenant migration version the customer's schema matches; checked, recorded as applied, the rest migrated")
	fl.BoolVar(&o.SlowPath, "no-template", false, "create the database empty and run every migration instead of cloning the template")
	return cmd
}

func runCreate(ctx context.Context, opts *CreateOptions) error {
	if opts.FromFile != "" {
		return createBatch(ctx, opts)
	}
	f, o := opts.Factory, opts.Create
	env, err := f.Env(ctx)
	if err != nil {
		return err
	}
	p := env.Provisioner
	start := time.Now()
	var t catalog.Tenant
	outcome := provisioner.Created
	if opts.FromDump != "" {
		t, err = mover.New(p, f.Log).Import(ctx, mover.ImportOptions{CreateOptions: o, File: opts.FromDump, Baseline: opts.Baseline})
	} else if opts.SetBaseline {
		return validate.Errorf("--baseline applies to --from-dump only (for an existing tenant: tenantctl migrate baseline SLUG --version N)")
	} else {
		t, outcome, err = p.CreateWithOutcome(ctx, o)
	}
	if err != nil {
		return err
	}
	if f.Structured() {
		return f.PrintStructured(t)
	}
	if outcome == provisioner.CreatedByAnother {
		fmt.Fprintf(f.IO.Out, "tenant %s was created by another run meanwhile (same spec) on %s: database %s, schema version %d\n",
			t.Slug, t.Server, t.Database, t.SchemaVersion)
		return nil
	}
	fmt.Fprintf(f.IO.Out, "tenant %s created on %s: database %s, schema version %d (%s)\n",
		t.Slug, t.Server, t.Database, t.SchemaVersion, cmdutil.Millis(time.Since(start)))
	return nil
}

// createBatch runs `tenant create --from-file`.
func createBatch(ctx context.Context, opts *CreateOptions) error {
	f := opts.Factory
	r := f.IO.In
	if opts.FromFile != "-" {
		file, err := os.Open(opts.FromFile)
		if err != nil {
			return validate.Errorf("read batch file: %v", err)
		}
		defer file.Close()
		r = file
	}
	rows, err := provisioner.ParseBatch(r)
	if err != nil {
		return err
	}
	for i := range rows {
		rows[i].Options.SlowPath = opts.Create.SlowPath
	}
	env, err := f.Env(ctx)
	if err != nil {
		return err
	}
	p := env.Provisioner
	prog := f.Progress(len(rows), "tenant create")
	var mu sync.Mutex
	results, err := p.CreateBatch(ctx, rows, opts.Concurrency, func(r provisioner.BatchResult) {
		mu.Lock()
		defer mu.Unlock()
		var rerr error
		if !r.OK {
			rerr = errors.New(r.Error)
		}
		prog.Done(r.Slug, rerr)
	})
	prog.Close()
	var be *provisioner.BatchError
	if err != nil && !errors.As(err, &be) {
		return err
	}
	if f.Structured() {
		if jerr := f.PrintStructured(results); jerr != nil {
			return jerr
		}
	} else {
		tw := f.Table("LINE", "SLUG", "RESULT", "SERVER", "DATABASE")
		for _, r := range results {
			if r.OK {
				cmdutil.Row(tw, r.Line, r.Slug, "created", r.Tenant.Server, r.Tenant.Database)
			} else {
				cmdutil.Row(tw, r.Line, r.Slug, "FAILED: "+cmdutil.OneLine(r.Error), "-", "-")
			}
		}
		if ferr := tw.Flush(); ferr != nil {
			return ferr
		}
		fmt.Fprintf(f.IO.Out, "%d of %d tenants created\n", len(results)-failedCount(be), len(results))
	}
	if be != nil {
		return be // exit 1, naming the failed lines
	}
	return nil
}

func failedCount(be *provisioner.BatchError) int {
	if be == nil {
		return 0
	}
	return len(be.Failed)
}

// ListOptions are `tenant list`'s.
type ListOptions struct {
	Factory *cmdutil.Factory
	Filter  catalog.TenantFilter
	// State is --state ("" for every state).
	State string
}

// NewCmdList is `tenant list`; runF, when not nil, replaces the run.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "list [--state S] [--server NAME]",
		Example: "  tenantctl tenant list\n  tenantctl tenant list --state deleting --server pg-a -o json",
		Short:   "List tenants",
		Args:    cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runList, func(cmd *cobra.Command, _ []string) error {
			if opts.State != "" {
				opts.Filter.States = []string{opts.State}
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&opts.State, "state", "", "only tenants in this state: provisioning, active, suspended, deleting, failed, purged")
	cmd.Flags().StringVar(&opts.Filter.Server, "server", "", "only tenants on this server")
	return cmd
}

func runList(ctx context.Context, opts *ListOptions) error {
	f := opts.Factory
	return f.WithStore(ctx, func(store *catalog.Store) error { return f.StreamTenants(ctx, store, opts.Filter) })
}

type tenantWithStats struct {
	catalog.Tenant
	Stats *tenantdb.Stats `json:"stats"`
}

// SlugOptions are those of the commands that take a tenant SLUG and nothing else.
type SlugOptions struct {
	Factory *cmdutil.Factory
	// Action is the command (for suspend, resume and rotate-credentials).
	Action string
	Slug   string
}

func newSlugCmd(f *cmdutil.Factory, use, short, example, action string, runF, run func(context.Context, *SlugOptions) error) *cobra.Command {
	opts := &SlugOptions{Factory: f, Action: action}
	return &cobra.Command{
		Use:     use + " SLUG",
		Short:   short,
		Example: example,
		Args:    cmdutil.ExactArgs(1, "a tenant SLUG"),
		RunE:    cmdutil.RunE(opts, runF, run, cmdutil.Args(&opts.Slug)),
	}
}

// NewCmdShow is `tenant show`; runF, when not nil, replaces the run.
func NewCmdShow(f *cmdutil.Factory, runF func(context.Context, *SlugOptions) error) *cobra.Command {
	return newSlugCmd(f, "show", "Show a tenant with live statistics (rows per rolled-up table, database size)",
		"  tenantctl tenant show acme\n  tenantctl tenant show acme -o yaml", "show", runF, runShow)
}

func runShow(ctx context.Context, opts *SlugOptions) error {
	f := opts.Factory
	spec, err := f.RollupSpec()
	if err != nil {
		return err
	}
	return f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error {
		t, err := p.Store.GetTenant(ctx, opts.Slug)
		if err != nil {
			return err
		}
		out := tenantWithStats{Tenant: t}
		var statsErr error
		if t.State == catalog.StateActive || t.State == catalog.StateSuspended {
			st, err := p.Stats(ctx, t, spec.TableNames())
			if err != nil {
				statsErr = err
				f.Log.Warn("live statistics unavailable", "tenant", t.Slug, "error", err)
			} else {
				out.Stats = &st
			}
		}
		if f.Structured() {
			return f.PrintStructured(out)
		}
		tw := f.Table("FIELD", "VALUE")
		cmdutil.Row(tw, "slug", t.Slug)
		cmdutil.Row(tw, "id", t.ID)
		cmdutil.Row(tw, "name", t.Name)
		cmdutil.Row(tw, "domain", t.Domain)
		cmdutil.Row(tw, "state", t.State)
		cmdutil.Row(tw, "server", t.Server)
		cmdutil.Row(tw, "database", t.Database)
		cmdutil.Row(tw, "schema version", t.SchemaVersion)
		cmdutil.Row(tw, "labels", cmdutil.Dash(validate.FormatLabels(t.Labels)))
		cmdutil.Row(tw, "contact", cmdutil.Dash(t.ContactEmail))
		cmdutil.Row(tw, "created", cmdutil.LocalTime(t.CreatedAt))
		if t.LastError != "" {
			cmdutil.Row(tw, "last error", t.LastError)
		}
		if t.MigrationError != "" {
			cmdutil.Row(tw, "migration error", t.MigrationError)
		}
		if out.Stats != nil {
			cmdutil.Row(tw, "database size", fmt.Sprintf("%d bytes", out.Stats.SizeBytes))
			for _, name := range spec.TableNames() {
				if n, ok := out.Stats.Rows[name]; ok {
					cmdutil.Row(tw, "rows in "+name, n)
				}
			}
		} else if statsErr != nil {
			cmdutil.Row(tw, "stats", "unavailable: "+statsErr.Error())
		}
		return tw.Flush()
	})
}

// NewCmdDSN is `tenant dsn`; runF, when not nil, replaces the run.
func NewCmdDSN(f *cmdutil.Factory, runF func(context.Context, *SlugOptions) error) *cobra.Command {
	return newSlugCmd(f, "dsn", "Print the tenant application's connection string (contains its password)",
		"  tenantctl tenant dsn acme     # prints the application's password inside the DSN", "dsn", runF, runDSN)
}

func runDSN(ctx context.Context, opts *SlugOptions) error {
	f := opts.Factory
	return f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error {
		dsn, err := p.AppDSN(ctx, opts.Slug)
		if err != nil {
			return err
		}
		fmt.Fprintln(f.IO.Out, dsn)
		return nil
	})
}

// simpleCommands change a tenant's state and print that they did.
var simpleCommands = []struct {
	use, short, example string
	do                  cmdutil.Action
}{
	{"rotate-credentials", "Give the tenant's application (and tenantctl's own owner login) a new password; the old ones stop working", "  tenantctl tenant rotate-credentials acme && tenantctl tenant dsn acme",
		(*provisioner.Provisioner).RotateCredentials},
	{"suspend", "Stop the tenant's application from logging in and end its sessions", "  tenantctl tenant suspend acme     # the app role can no longer log in",
		(*provisioner.Provisioner).Suspend},
	{"resume", "Let a suspended tenant's application log in again", "  tenantctl tenant resume acme",
		(*provisioner.Provisioner).Resume},
	{"cancel-delete", "Take a deleted tenant back before it is purged: it becomes suspended (then 'tenant resume')", "  tenantctl tenant cancel-delete acme && tenantctl tenant resume acme",
		(*provisioner.Provisioner).CancelDelete},
}

// NewCmdSimple is `tenant rotate-credentials`, `suspend`, `resume` or `cancel-delete`
// (use); runF, when
// not nil, replaces the run.
func NewCmdSimple(f *cmdutil.Factory, use, short, example string, runF func(context.Context, *SlugOptions) error) *cobra.Command {
	return newSlugCmd(f, use, short, example, use, runF, runSimple)
}

func runSimple(ctx context.Context, opts *SlugOptions) error {
	for _, c := range simpleCommands {
		if c.use == opts.Action {
			return opts.Factory.RunAction(ctx, "tenant", opts.Slug, opts.Action, c.do)
		}
	}
	return fmt.Errorf("unknown tenant action %q", opts.Action)
}

// DeleteOptions are `tenant delete`'s.
type DeleteOptions struct {
	Factory *cmdutil.Factory
	Delete  provisioner.DeleteOptions
	DryRun  bool
}

// NewCmdDelete is `tenant delete`; runF, when not nil, replaces the run.
func NewCmdDelete(f *cmdutil.Factory, runF func(context.Context, *DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{Factory: f}
	o := &opts.Delete
	cmd := &cobra.Command{
		Use:     "delete SLUG --confirm SLUG [--purge]",
		Example: "  tenantctl tenant delete acme --confirm acme --dry-run\n  tenantctl tenant delete acme --confirm acme\n  tenantctl tenant delete acme --confirm acme --purge",
		Short:   "Revoke all access to a tenant and mark it deleting (purged after the retention period)",
		Long: `Delete a tenant in two phases. This command revokes its application's access, ends its
sessions and marks it deleting; its data stays until 'tenant purge' (or the scheduler's
purge after the retention period, 7 days by default). --purge destroys it at once.`,
		Args: cmdutil.ExactArgs(1, "a tenant SLUG"),
		RunE: cmdutil.RunE(opts, runF, runDelete, func(cmd *cobra.Command, args []string) error {
			o.Slug = args[0]
			return provisioner.Confirm("delete", o.Slug, o.Confirm)
		}),
	}
	cmd.Flags().StringVar(&o.Confirm, "confirm", "", "the tenant's slug again, to confirm")
	cmd.Flags().BoolVar(&o.Purge, "purge", false, "purge at once: drop the database, roles, warehouse rows and credentials")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what would be done and change nothing")
	return cmd
}

func runDelete(ctx context.Context, opts *DeleteOptions) error {
	f, o := opts.Factory, opts.Delete
	return f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error {
		if opts.DryRun {
			pl, err := p.PlanDelete(ctx, o)
			if err != nil {
				return err
			}
			return printPlans(f, "deleted", []provisioner.Plan{pl})
		}
		if err := p.Delete(ctx, o); err != nil {
			return err
		}
		if o.Purge {
			fmt.Fprintf(f.IO.Out, "tenant %s deleted and purged\n", o.Slug)
		} else {
			fmt.Fprintf(f.IO.Out, "tenant %s deleted: access revoked; data is purged after the retention period (or: tenantctl tenant purge %s --confirm %s)\n", o.Slug, o.Slug, o.Slug)
		}
		return nil
	})
}

// PurgeOptions are `tenant purge`'s.
type PurgeOptions struct {
	Factory *cmdutil.Factory
	// Slug and Confirm name one tenant; Expired purges those deleted longer ago than
	// Retention instead.
	Slug, Confirm string
	Expired       bool
	Retention     time.Duration
	DryRun, Yes   bool
}

// NewCmdPurge is `tenant purge`; runF, when not nil, replaces the run.
func NewCmdPurge(f *cmdutil.Factory, runF func(context.Context, *PurgeOptions) error) *cobra.Command {
	opts := &PurgeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "purge [--expired [--yes] | SLUG --confirm SLUG] [--dry-run]",
		Example: "  tenantctl tenant purge acme --confirm acme --dry-run\n  tenantctl tenant purge --expired --dry-run\n  tenantctl tenant purge --expired --retention 720h --yes",
		Short:   "Destroy deleted tenants: database, roles, warehouse rows and credentials",
		Args: func(cmd *cobra.Command, args []string) error {
			if opts.Expired && len(args) == 0 {
				return nil
			}
			if !opts.Expired && len(args) == 1 {
				return nil
			}
			return validate.Errorf("use either 'tenant purge --expired' or 'tenant purge SLUG --confirm SLUG'")
		},
		RunE: cmdutil.RunE(opts, runF, runPurge, func(cmd *cobra.Command, args []string) error {
			if !opts.Expired {
				opts.Slug = args[0]
				if err := provisioner.Confirm("purge", opts.Slug, opts.Confirm); err != nil {
					return err
				}
			}
			if opts.Retention < 0 {
				return validate.Errorf("invalid --retention %s", opts.Retention)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&opts.Confirm, "confirm", "", "the tenant's slug again, to confirm")
	cmd.Flags().BoolVar(&opts.Expired, "expired", false, "purge every tenant deleted longer ago than --retention")
	cmd.Flags().DurationVar(&opts.Retention, "retention", provisioner.DefaultRetention, "how long deleted tenants are kept before --expired purges them")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what would be purged and change nothing")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "purge --expired without asking (required when stdin is not a terminal)")
	return cmd
}

func runPurge(ctx context.Context, opts *PurgeOptions) error {
	f, slug, confirm, retention := opts.Factory, opts.Slug, opts.Confirm, opts.Retention
	return f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error {
		if opts.DryRun {
			var plans []provisioner.Plan
			var err error
			if opts.Expired {
				plans, err = p.PlanPurgeExpired(ctx, retention)
			} else {
				var pl provisioner.Plan
				pl, err = p.PlanPurge(ctx, slug, confirm)
				plans = []provisioner.Plan{pl}
			}
			if err != nil {
				return err
			}
			return printPlans(f, "purged", plans)
		}
		if !opts.Expired {
			if err := p.Purge(ctx, slug, confirm); err != nil {
				if errors.Is(err, provisioner.ErrWrongState) {
					return fmt.Errorf("%w (tenantctl tenant delete %s --confirm %s)", err, slug, slug)
				}
				return err
			}
			fmt.Fprintf(f.IO.Out, "tenant %s purged\n", slug)
			return nil
		}
		due, err := p.ExpiredTenants(ctx, retention)
		if err != nil {
			return err
		}
		slugs := make([]string, len(due))
		for i, t := range due {
			slugs[i] = t.Slug
		}
		if err := confirmPurge(f, slugs, opts.Yes); err != nil {
			return err
		}
		purged, err := p.PurgeExpired(ctx, retention)
		for _, s := range purged {
			fmt.Fprintf(f.IO.Out, "tenant %s purged\n", s)
		}
		if err == nil {
			fmt.Fprintf(f.IO.Out, "%d expired tenants purged\n", len(purged))
		}
		return err
	})
}

// PrintTenants prints tenants as -o asks.
func PrintTenants(f *cmdutil.Factory, tenants []catalog.Tenant) error {
	return cmdutil.PrintList(f, tenants, []string{"SLUG", "NAME", "DOMAIN", "STATE", "SERVER", "DATABASE", "VERSION"}, func(t catalog.Tenant) []any {
		return []any{t.Slug, t.Name, t.Domain, t.State, t.Server, t.Database, t.SchemaVersion}
	})
}
