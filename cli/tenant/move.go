package tenant

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/mover"
)

// MoveOptions are `tenant move`'s: the library's options as the flags give them.
type MoveOptions struct {
	Factory *cmdutil.Factory
	Move    mover.MoveOptions
	// KeepSource is --keep-source as given; Rollback rolls an interrupted move back.
	KeepSource string
	Rollback   bool
}

// NewCmdMove is `tenant move`; runF, when not nil, replaces the run.
func NewCmdMove(f *cmdutil.Factory, runF func(context.Context, *MoveOptions) error) *cobra.Command {
	opts := &MoveOptions{Factory: f}
	o := &opts.Move
	cmd := &cobra.Command{
		Use:   "move SLUG --to SERVER [--method dump|logical] [--keep-source DURATION] [--dry-run]",
		Short: "Move a tenant's database to another server, verified, with the app's password unchanged",
		Long: `Move a tenant's database to another registered server.

Method dump (the default; works with the least-privilege admin role): the application's
role loses LOGIN and its sessions end; pg_dump on the source is piped into pg_restore on
the target, into a database created and hardened like a new tenant's, with the same role
names and the same password (only the host and port of the app's DSN change); every
table is compared (row count and checksum) between source and target; the catalog
switches to the target; the application may log in again. The source copy stays,
NOLOGIN for the tenant, for --keep-source (default 24h) and is dropped by
'tenantctl reconcile' after that (--keep-source 0 drops it at once).

Method logical keeps the tenant writable during the copy: its schema is copied and
hardened as above, a publication on the source and a subscription on the target copy
the data and stream the changes; once synchronised, the tenant is suspended only for
the cut-over (wait until the target applied everything, copy the sequences' values,
verify, drop the subscription, its slots and the publication, switch, resume). It needs
a superuser admin, or PostgreSQL 16+ with pg_create_subscription granted to the admin,
on both servers, wal_level = logical on the source, and a primary key on every table;
it is refused otherwise (use method dump). The output gives the downtime (suspend to
resume) apart from the total.

A move can be killed at any instant: run the same command again to finish it, or
'tenantctl reconcile' (or 'tenant move SLUG --rollback') to roll it back to the source.
The next rollup copies a moved tenant in full. pg_dump and pg_restore come from
TENANTCTL_PG_BINDIR, PATH, 'pg_config --bindir' or /usr/lib/postgresql/*/bin.`,
		Example: `  tenantctl tenant move acme --to pg-b --dry-run
  tenantctl tenant move acme --to pg-b
  tenantctl tenant move acme --to pg-b --keep-source 0
  tenantctl tenant move acme --to pg-b --method logical -o json`,
		Args: cmdutil.ExactArgs(1, "a tenant SLUG"),
		RunE: cmdutil.RunE(opts, runF, runMove, func(cmd *cobra.Command, args []string) error {
			o.Slug = args[0]
			var err error
			if o.KeepSource, err = cmdutil.KeepSource(cmd, opts.KeepSource); err != nil {
				return err
			}
			if !opts.Rollback {
				if err := o.Validate(); err != nil {
					return err
				}
			}
			return nil
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.To, "to", "", "target server (required)")
	fl.StringVar(&o.Method, "method", "dump", "dump or logical")
	fl.StringVar(&opts.KeepSource, "keep-source", "24h", "how long the source copy is kept (NOLOGIN) before reconcile drops it; 0 drops it at once")
	fl.BoolVar(&o.DryRun, "dry-run", false, "print the plan and change nothing")
	fl.BoolVar(&opts.Rollback, "rollback", false, "roll back the tenant's interrupted move instead")
	return cmd
}

func runMove(ctx context.Context, opts *MoveOptions) error {
	f, o := opts.Factory, &opts.Move
	return f.WithMover(ctx, func(m *mover.Mover) error {
		if opts.Rollback {
			if err := m.RollBack(ctx, o.Slug); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "move of tenant %s rolled back\n", o.Slug)
			return nil
		}
		res, err := m.Move(ctx, *o)
		if err != nil {
			return err
		}
		if o.DryRun {
			return f.PrintResult(res, "would move tenant %s from %s to %s by %s (%s now; %s)\n", res.Slug, res.From, res.To, res.Method,
				cmdutil.HumanBytes(res.SizeBytes), res.Status)
		}
		if f.Structured() {
			return f.PrintStructured(res)
		}
		fmt.Fprintf(f.IO.Out, "tenant %s moved from %s to %s: %d tables, %d rows verified, %s streamed, downtime %s, total %s\n",
			res.Slug, res.From, res.To, res.Tables, res.Rows, cmdutil.HumanBytes(res.Bytes), cmdutil.Millis(res.Downtime), cmdutil.Millis(res.Duration))
		if res.KeepSourceUntil != nil && res.Status == "switched" {
			fmt.Fprintf(f.IO.Out, "the copy on %s is kept (NOLOGIN) until %s; `tenantctl reconcile` drops it after that\n", res.From, res.KeepSourceUntil.UTC().Format(time.RFC3339))
		}
		return nil
	})
}

// ExportOptions are `tenant export`'s.
type ExportOptions struct {
	Factory *cmdutil.Factory
	Export  mover.ExportOptions
}

// NewCmdExport is `tenant export`; runF, when not nil, replaces the run.
func NewCmdExport(f *cmdutil.Factory, runF func(context.Context, *ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{Factory: f}
	o := &opts.Export
	cmd := &cobra.Command{
		Use:   "export SLUG --out FILE",
		Short: "Write a tenant's data as a pg_dump archive (for a customer leaving)",
		Long: `Write the tenant's database as a pg_dump custom-format archive: its schema and rows,
read from one consistent snapshot, without owners or grants (no MSP role appears in
it), restorable with pg_restore --no-owner into any PostgreSQL of the same or a newer
major version, or into a new tenant with 'tenant create --from-dump'. The file is
created readable by its owner only and must not exist yet. The export is recorded in
the event log with the archive's size and SHA-256. Purged tenants have nothing left to
export and are refused.`,
		Example: `  tenantctl tenant export acme --out acme-2026-11-30.dump`,
		Args:    cmdutil.ExactArgs(1, "a tenant SLUG"),
		RunE: cmdutil.RunE(opts, runF, runExport, func(cmd *cobra.Command, args []string) error {
			o.Slug = args[0]
			return o.Validate()
		}),
	}
	cmd.Flags().StringVar(&o.Out, "out", "", "archive file to write (required; must not exist)")
	return cmd
}

func runExport(ctx context.Context, opts *ExportOptions) error {
	f, o := opts.Factory, opts.Export
	return f.WithMover(ctx, func(m *mover.Mover) error {
		res, err := m.Export(ctx, o)
		if err != nil {
			return err
		}
		return f.PrintResult(res, "tenant %s exported to %s: %s, sha256 %s (%s)\n", res.Slug, res.File, cmdutil.HumanBytes(res.Bytes), res.SHA256, cmdutil.Millis(res.Duration))
	})
}
