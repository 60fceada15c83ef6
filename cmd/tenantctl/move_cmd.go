package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/mover"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
)

// mover opens the catalog and returns a mover over it; call done when finished.
func (a *app) mover(cmd *cobra.Command) (*mover.Mover, func(), error) {
	p, done, err := a.provisioner(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	return mover.New(p, a.log), done, nil
}

func (a *app) tenantMoveCmd() *cobra.Command {
	var o mover.MoveOptions
	var keep string
	var rollback bool
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
		Args: exactArgs(1, "a tenant SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Slug = args[0]
			if cmd.Flags().Changed("keep-source") {
				d, err := time.ParseDuration(keep)
				if err != nil {
					return validate.Errorf("invalid --keep-source %q: give a duration such as 24h, 30m or 0", keep)
				}
				o.KeepSource = &d
			}
			if rollback {
				m, done, err := a.mover(cmd)
				if err != nil {
					return err
				}
				defer done()
				if err := m.RollBack(cmd.Context(), o.Slug); err != nil {
					return err
				}
				fmt.Fprintf(a.out, "move of tenant %s rolled back\n", o.Slug)
				return nil
			}
			if err := o.Validate(); err != nil {
				return err
			}
			m, done, err := a.mover(cmd)
			if err != nil {
				return err
			}
			defer done()
			res, err := m.Move(cmd.Context(), o)
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(res)
			}
			if o.DryRun {
				fmt.Fprintf(a.out, "would move tenant %s from %s to %s by %s (%s now; %s)\n", res.Slug, res.From, res.To, res.Method,
					humanBytes(res.SizeBytes), res.Status)
				return nil
			}
			fmt.Fprintf(a.out, "tenant %s moved from %s to %s: %d tables, %d rows verified, %s streamed, downtime %s, total %s\n",
				res.Slug, res.From, res.To, res.Tables, res.Rows, humanBytes(res.Bytes), res.Downtime.Round(time.Millisecond), res.Duration.Round(time.Millisecond))
			if res.KeepSourceUntil != nil && res.Status == "switched" {
				fmt.Fprintf(a.out, "the copy on %s is kept (NOLOGIN) until %s; `tenantctl reconcile` drops it after that\n", res.From, res.KeepSourceUntil.UTC().Format(time.RFC3339))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.To, "to", "", "target server (required)")
	f.StringVar(&o.Method, "method", "dump", "dump or logical")
	f.StringVar(&keep, "keep-source", "24h", "how long the source copy is kept (NOLOGIN) before reconcile drops it; 0 drops it at once")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the plan and change nothing")
	f.BoolVar(&rollback, "rollback", false, "roll back the tenant's interrupted move instead")
	return cmd
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func (a *app) serverEvacuateCmd() *cobra.Command {
	var o mover.EvacuateOptions
	var keep string
	cmd := &cobra.Command{
		Use:   "evacuate NAME [--to SERVER]... [--concurrency N] [--keep-source DURATION] [--dry-run]",
		Short: "Drain a server and move every tenant off it",
		Long: `Drain a server (no new tenants) and move every tenant on it to other servers, as
'tenant move' does, a few at a time: each goes to the server with the most free
capacity whose labels include the tenant's, among --to (repeatable) or every server not
draining. One tenant's failure does not stop the others; the result lists each tenant.
Run the command again to pick up what is left (an interrupted move is finished towards
its recorded target). Once the server is empty, 'tenantctl server remove NAME' succeeds
(the copies kept for --keep-source go with the server). The run is recorded in 'jobs'
as job "evacuate", with its progress.`,
		Example: `  tenantctl server evacuate pg-old --dry-run
  tenantctl server evacuate pg-old --to pg-new1 --to pg-new2 --concurrency 4
  tenantctl server evacuate pg-old --keep-source 0 && tenantctl server remove pg-old`,
		Args: exactArgs(1, "a server NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Server = args[0]
			if cmd.Flags().Changed("keep-source") {
				d, err := time.ParseDuration(keep)
				if err != nil {
					return validate.Errorf("invalid --keep-source %q: give a duration such as 24h, 30m or 0", keep)
				}
				o.KeepSource = &d
			}
			if err := o.Validate(); err != nil {
				return err
			}
			m, done, err := a.mover(cmd)
			if err != nil {
				return err
			}
			defer done()
			var res mover.EvacuateResult
			run := func(ctx context.Context) (map[string]int64, error) {
				var err error
				res, err = m.Evacuate(ctx, o)
				return map[string]int64{"tenants": int64(len(res.Tenants)), "moved": int64(res.Moved), "failed": int64(res.Failed)}, err
			}
			var runErr error
			if o.DryRun {
				_, runErr = run(cmd.Context())
			} else {
				st := m.P.Store
				id, err := st.StartJob(cmd.Context(), "evacuate", hostname())
				if err != nil {
					return err
				}
				counts := map[string]int64{}
				// Progress lands in the job's counts as tenants finish: `jobs` shows how far
				// an evacuation got while it runs.
				o.OnMove = func(out mover.Outcome) {
					counts[out.Status]++
					counts["done"]++
					_ = st.UpdateJobCounts(cmd.Context(), id, counts)
					a.log.Info("tenant evacuated", "tenant", out.Slug, "to", out.To, "status", out.Status, "error", out.Error)
				}
				var final map[string]int64
				final, runErr = run(cmd.Context())
				status, errText := "succeeded", ""
				if runErr != nil {
					status, errText = "failed", secret.Scrub(runErr.Error())
				}
				if err := st.FinishJob(context.WithoutCancel(cmd.Context()), id, status, errText, final); err != nil {
					runErr = errors.Join(runErr, err)
				}
			}
			var pe *fleet.PartialError
			if runErr != nil && !errors.As(runErr, &pe) {
				return runErr
			}
			if a.jsonOutput() {
				if err := a.printJSON(res); err != nil {
					return err
				}
			} else {
				tw := a.table("TENANT", "FROM", "TO", "STATUS", "DOWNTIME", "DETAIL")
				for _, t := range res.Tenants {
					dt := "-"
					if t.Downtime > 0 {
						dt = t.Downtime.Round(time.Millisecond).String()
					}
					row(tw, t.Slug, t.From, dash(t.To), t.Status, dt, dash(t.Error))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				verb := "moved"
				if o.DryRun {
					verb = "planned"
				}
				fmt.Fprintf(a.out, "%d tenants %s, %d failed in %s; server %s is %s\n", len(res.Tenants)-res.Failed, verb, res.Failed,
					res.Duration.Round(time.Millisecond), res.Server, map[bool]string{true: "empty", false: "not empty"}[res.Empty])
			}
			if pe != nil {
				return &codeError{code: exitFailure, err: errSilent}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.To, "to", nil, "target server, repeatable (default: every server not draining, by placement)")
	f.IntVar(&o.Concurrency, "concurrency", 2, "moves running at once")
	f.StringVar(&keep, "keep-source", "24h", "how long each source copy is kept (NOLOGIN); 0 drops it at once")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the plan and change nothing")
	return cmd
}

// importTenant is `tenant create --from-dump`.
func (a *app) importTenant(cmd *cobra.Command, p *provisioner.Provisioner, o provisioner.CreateOptions, file string, baseline int64) (catalog.Tenant, error) {
	return mover.New(p, a.log).Import(cmd.Context(), mover.ImportOptions{CreateOptions: o, File: file, Baseline: baseline})
}

func (a *app) tenantExportCmd() *cobra.Command {
	var o mover.ExportOptions
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
		Args:    exactArgs(1, "a tenant SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Slug = args[0]
			if err := o.Validate(); err != nil {
				return err
			}
			m, done, err := a.mover(cmd)
			if err != nil {
				return err
			}
			defer done()
			res, err := m.Export(cmd.Context(), o)
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(res)
			}
			fmt.Fprintf(a.out, "tenant %s exported to %s: %s, sha256 %s (%s)\n", res.Slug, res.File, humanBytes(res.Bytes), res.SHA256, res.Duration.Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Out, "out", "", "archive file to write (required; must not exist)")
	return cmd
}
