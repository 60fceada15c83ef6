// Package backup is `tenantctl backup` (server backups with pgBackRest) and `tenantctl
// tenant restore` (one tenant to a point in time from them).
package backup

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/backup"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/mover"
)

// NewCmdBackup is `tenantctl backup`.
func NewCmdBackup(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Server backups with pgBackRest: stanza settings, backups, the restorable window",
		Long: `Back up every registered server with pgBackRest (Debian/Ubuntu: apt-get install
pgbackrest), one stanza per server, so one customer can be restored to a point in time
('tenant restore') without touching the others.

tenantctl runs pgbackrest on the host that holds the server's data directory, as the
directory's owner when it runs as root. Record a server's stanza with 'backup configure',
print what a superuser installs with 'backup setup', check it with 'backup setup --check',
then 'backup run' (the scheduler runs it daily: --backup-schedule). 'backup list' shows
the restorable window; 'tenant restore' brings one customer back to a time inside it.
The scheduler's metrics and alerts watch the age of each server's newest backup and its
WAL archiving (docs/backup-and-recovery.md).`,
		Example: `  tenantctl backup configure pg-a --repo /var/lib/pgbackrest --pg-path /var/lib/postgresql/15/main
  tenantctl backup setup pg-a            # then install what it prints, restart the server
  tenantctl backup setup pg-a --check
  tenantctl backup run --server pg-a --type full
  tenantctl backup list`,
	}
	cmd.AddCommand(NewCmdConfigure(f, nil), NewCmdSetup(f, nil), NewCmdRun(f, nil), NewCmdList(f, nil))
	return cmd
}

func backupEnv(ctx context.Context, f *cmdutil.Factory) (*fleetenv.Env, backup.Env, error) {
	env, err := f.Env(ctx)
	if err != nil {
		return nil, backup.Env{}, err
	}
	return env, jobs.BackupEnv(env, f.Log), nil
}

// ConfigureOptions are `backup configure`'s: the library's settings as the flags give
// them.
type ConfigureOptions struct {
	Factory  *cmdutil.Factory
	Settings backup.Settings
	// Install also writes the stanza's configuration file here.
	Install bool
}

// NewCmdConfigure is `backup configure`; runF, when not nil, replaces the run.
func NewCmdConfigure(f *cmdutil.Factory, runF func(context.Context, *ConfigureOptions) error) *cobra.Command {
	opts := &ConfigureOptions{Factory: f}
	s := &opts.Settings
	cmd := &cobra.Command{
		Use:   "configure SERVER --repo DIR --pg-path DIR [--pg-port N] [--pg-socket-path DIR] [--pg-user U] [--pg-passfile F] [--stanza S] [--config-path F]",
		Short: "Record a server's pgBackRest stanza in the catalog",
		Long: `Record where a server's pgBackRest repository, data directory and socket are. Nothing
on the server changes; 'backup setup' then prints the files to install. --pg-passfile
names a libpq password file (mode 0600, owned by the data directory's owner) when the
server does not admit its superuser by peer authentication on the socket; only its path
is recorded. --install writes the stanza's configuration file here (what a superuser
does by hand; 'dev up' uses it).`,
		Example: `  tenantctl backup configure pg-a --repo /var/lib/pgbackrest --pg-path /var/lib/postgresql/15/main
  tenantctl backup setup pg-a`,
		Args: cmdutil.ExactArgs(1, "a server NAME"),
		RunE: cmdutil.RunE(opts, runF, runConfigure, func(cmd *cobra.Command, args []string) error {
			s.Server = args[0]
			backup.Defaults(s)
			return backup.Validate(*s)
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&s.RepoPath, "repo", "", "the pgBackRest repository directory (required)")
	fl.StringVar(&s.PgPath, "pg-path", "", "the server's data directory (required)")
	fl.IntVar(&s.PgPort, "pg-port", 5432, "the server's port (names its Unix socket)")
	fl.StringVar(&s.PgSocketPath, "pg-socket-path", "/var/run/postgresql", "the server's Unix socket directory")
	fl.StringVar(&s.PgUser, "pg-user", "postgres", "the superuser pgbackrest connects as")
	fl.StringVar(&s.PgPassfile, "pg-passfile", "", "a libpq password file for that user (path only)")
	fl.StringVar(&s.Stanza, "stanza", "", "the stanza's name (default: the server's)")
	fl.StringVar(&s.ConfigPath, "config-path", "", "the stanza's pgbackrest configuration file (default /etc/pgbackrest/STANZA.conf)")
	fl.IntVar(&s.RetentionFull, "retention-full", 2, "full backups kept (with what depends on them)")
	fl.BoolVar(&opts.Install, "install", false, "also write the configuration file (and make the repository directory)")
	return cmd
}

func runConfigure(ctx context.Context, opts *ConfigureOptions) error {
	f, s := opts.Factory, opts.Settings
	return f.WithStore(ctx, func(store *catalog.Store) error {
		if _, err := store.GetServer(ctx, s.Server); err != nil {
			return err
		}
		if err := store.SetBackupSettings(ctx, s); err != nil {
			return err
		}
		if opts.Install {
			if err := backup.Install(s); err != nil {
				return err
			}
		}
		fmt.Fprintf(f.IO.Out, "backup settings of server %s recorded (stanza %s, config %s)\n", s.Server, s.Stanza, s.ConfigPath)
		return nil
	})
}

// SetupOptions are `backup setup`'s.
type SetupOptions struct {
	Factory *cmdutil.Factory
	Server  string
	Check   bool
}

// NewCmdSetup is `backup setup`; runF, when not nil, replaces the run.
func NewCmdSetup(f *cmdutil.Factory, runF func(context.Context, *SetupOptions) error) *cobra.Command {
	opts := &SetupOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "setup SERVER [--check]",
		Short: "Print the pgbackrest.conf and postgresql.conf settings a server needs, or check them",
		Long: `Print the stanza's pgbackrest.conf and the postgresql.conf settings (archive_mode,
archive_command, wal_level) for a superuser to install; archive_mode and wal_level need
a restart. With --check, create the stanza in the repository if it is missing and run
'pgbackrest check', which has the server archive a WAL segment and waits for it.`,
		Example: `  tenantctl backup setup pg-a
  tenantctl backup setup pg-a --check`,
		Args: cmdutil.ExactArgs(1, "a server NAME"),
		RunE: cmdutil.RunE(opts, runF, runSetup, cmdutil.Args(&opts.Server)),
	}
	cmd.Flags().BoolVar(&opts.Check, "check", false, "check the installed settings with pgbackrest check")
	return cmd
}

func runSetup(ctx context.Context, opts *SetupOptions) error {
	f := opts.Factory
	return f.WithStore(ctx, func(store *catalog.Store) error {
		s, err := store.GetBackupSettings(ctx, opts.Server)
		if err != nil {
			return validate.Invalid(err)
		}
		if opts.Check {
			if err := backup.Check(ctx, s); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "stanza %s of server %s: archiving and the repository work\n", s.Stanza, s.Server)
			return nil
		}
		fmt.Fprintf(f.IO.Out, "# %s\n%s\n# postgresql.conf of server %s\n%s", s.ConfigPath, backup.Conf(s), s.Server, backup.ServerSettingsText(s))
		return nil
	})
}

// RunOptions are `backup run`'s: the library's options as the flags give them.
type RunOptions struct {
	Factory *cmdutil.Factory
	Run     backup.RunOptions
	// Logical exports every customer (--logical) with LogicalRun's options instead.
	Logical    bool
	LogicalRun mover.LogicalBackupOptions
}

// NewCmdRun is `backup run`; runF, when not nil, replaces the run.
func NewCmdRun(f *cmdutil.Factory, runF func(context.Context, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{Factory: f}
	o := &opts.Run
	var keep string
	cmd := &cobra.Command{
		Use:   "run [--server NAME] [--type full|diff|incr] | run --logical [--server NAME] --dir DIR [--keep 14d]",
		Short: "Back up the servers now, or every customer as its own export (a job in 'tenantctl jobs')",
		Long: `Back up every server with backup settings (or the one named) with pgBackRest. The run
is recorded as job "backup"; one server's failure does not stop the others (exit 1).

With --logical (for servers without WAL archiving): export every active customer (of
the server named, or all) as 'tenant export' does, a pg_dump custom-format archive per
customer, into DIR/<slug>/<slug>-<time>.dump. Each archive is written under a
temporary name, synced and renamed, then recorded in the catalog with its tenant,
server, path, size, SHA-256 and time ('backup list --logical'); a partial file is never
recorded. Only once a customer's new archive is recorded are its archives older than
--keep (default 14d) removed. A run killed between an archive's rename and its record
leaves a whole file no record names: the next run records it (and removes partial
files a killed export left) before exporting that customer again. The run is recorded
as job "backup-logical" (the scheduler runs it on --backup-logical-schedule into
--backup-logical-dir); one customer's failure does not stop the others (exit 1).
'tenant restore SLUG --from-export FILE' brings one back, in place or --as NEW-SLUG,
its SHA-256 checked first.`,
		Example: `  tenantctl backup run
  tenantctl backup run --server pg-a --type full -o json
  tenantctl backup run --logical --dir /var/backups/tenantctl --keep 14d
  tenantctl backup run --logical --server pg-b --dir /var/backups/tenantctl -o json`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runRun, func(cmd *cobra.Command, _ []string) error {
			if opts.Logical {
				if cmd.Flags().Changed("type") {
					return validate.Errorf("--type is for pgBackRest backups; --logical exports each customer")
				}
				var err error
				if opts.LogicalRun.Keep, err = mover.ParseKeep(keep); err != nil {
					return err
				}
				opts.LogicalRun.Server = o.Server
				if err := opts.LogicalRun.Validate(); err != nil {
					return err
				}
				return nil
			}
			if cmd.Flags().Changed("dir") || cmd.Flags().Changed("keep") {
				return validate.Errorf("--dir and --keep go with --logical")
			}
			return o.Validate()
		}),
	}
	cmd.Flags().StringVar(&o.Server, "server", "", "back up this server only")
	cmd.Flags().StringVar(&o.Type, "type", "incr", "full, diff or incr")
	cmd.Flags().BoolVar(&opts.Logical, "logical", false, "export every active customer into --dir instead of a pgBackRest backup")
	cmd.Flags().StringVar(&opts.LogicalRun.Dir, "dir", "", "with --logical: the backup directory (made when missing, mode 0700)")
	cmd.Flags().StringVar(&keep, "keep", "14d", "with --logical: remove a customer's archives older than this once a new one is recorded (14d, 36h)")
	return cmd
}

// runLogical is `backup run --logical`.
func runLogical(ctx context.Context, opts *RunOptions) error {
	f := opts.Factory
	env, err := f.Env(ctx)
	if err != nil {
		return err
	}
	m := env.Mover()
	res, err := jobs.LogicalBackup.Run(ctx, env, jobs.LogicalBackupOptions{Mover: m, LogicalBackupOptions: opts.LogicalRun})
	if f.Structured() {
		if perr := f.PrintStructured(res); perr != nil {
			return perr
		}
		return err
	}
	for _, r := range res {
		if r.Error != "" {
			fmt.Fprintf(f.IO.Out, "tenant %s (server %s): logical backup FAILED: %s\n", r.Slug, r.Server, r.Error)
			continue
		}
		fmt.Fprintf(f.IO.Out, "tenant %s (server %s): %s, %s, sha256 %s (%s)\n", r.Slug, r.Server, r.File, cmdutil.HumanBytes(r.Bytes), r.SHA256, cmdutil.Millis(r.Duration))
		for _, p := range r.Removed {
			fmt.Fprintf(f.IO.Out, "  removed %s (older than --keep)\n", p)
		}
	}
	return err
}

func runRun(ctx context.Context, opts *RunOptions) error {
	if opts.Logical {
		return runLogical(ctx, opts)
	}
	f, o := opts.Factory, opts.Run
	env, benv, err := backupEnv(ctx, f)
	if err != nil {
		return err
	}
	o.Env = benv
	res, err := jobs.Backup.Run(ctx, env, o)
	if f.Structured() {
		if perr := f.PrintStructured(res); perr != nil {
			return perr
		}
	} else {
		for _, r := range res {
			if r.Error != "" {
				fmt.Fprintf(f.IO.Out, "server %s: %s backup FAILED: %s\n", r.Server, r.Type, r.Error)
				continue
			}
			fmt.Fprintf(f.IO.Out, "server %s: %s backup %s done in %s\n", r.Server, r.Type, r.Label, cmdutil.Millis(r.Duration))
		}
	}
	return err
}

// ListOptions are `backup list`'s.
type ListOptions struct {
	Factory *cmdutil.Factory
	Server  string
	// Logical lists the logical backups (of Tenant, when set; Removed: with the files
	// the retention removed) instead.
	Logical, Removed bool
	Tenant           string
}

// NewCmdList is `backup list`; runF, when not nil, replaces the run.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "list [--server NAME] | list --logical [--server NAME] [--tenant SLUG] [--removed]",
		Short: "Each server's backups, WAL archiving and restorable window",
		Long: `Read each server's pgBackRest repository (every server with backup settings, or the
one named), record its backups in the catalog, and print them with the server's WAL
archiving (pg_stat_archiver: archived and failed counts, FAILING when the last attempt
failed) and its restorable window: from the end of the oldest backup to the newest
archived WAL. 'tenant restore --time' accepts any time inside it. The scheduler's
/metrics reports the same per server (tenantctl_backup_last_success_timestamp_seconds,
tenantctl_wal_archiving_failing…).

With --logical: the customers' logical backups ('backup run --logical') as recorded in
the catalog, oldest first: tenant, server, time, size, SHA-256 and path (--removed also
lists the files the retention removed).`,
		Example: `  tenantctl backup list
  tenantctl backup list --server pg-a -o json
  tenantctl backup list --logical --tenant acme`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runList, func(cmd *cobra.Command, _ []string) error {
			if !opts.Logical && (opts.Tenant != "" || opts.Removed) {
				return validate.Errorf("--tenant and --removed go with --logical")
			}
			if err := cmdutil.IfGiven(validate.ServerName, opts.Server); err != nil {
				return err
			}
			return cmdutil.IfGiven(validate.Slug, opts.Tenant)
		}),
	}
	cmd.Flags().StringVar(&opts.Server, "server", "", "this server only")
	cmd.Flags().BoolVar(&opts.Logical, "logical", false, "list the customers' logical backups instead")
	cmd.Flags().StringVar(&opts.Tenant, "tenant", "", "with --logical: this tenant only")
	cmd.Flags().BoolVar(&opts.Removed, "removed", false, "with --logical: also the files the retention removed")
	return cmd
}

// runListLogical prints the recorded logical backups.
func runListLogical(ctx context.Context, opts *ListOptions) error {
	list := func(store *catalog.Store) ([]catalog.LogicalBackup, error) {
		filter := catalog.LogicalBackupFilter{Server: opts.Server, Removed: opts.Removed}
		if opts.Tenant != "" {
			t, err := store.GetTenant(ctx, opts.Tenant)
			if err != nil {
				return nil, err
			}
			filter.TenantID = t.ID
		}
		return store.ListLogicalBackups(ctx, filter)
	}
	return cmdutil.ListFromStore(ctx, opts.Factory, list, []string{"TENANT", "SERVER", "TAKEN", "SIZE", "SHA256", "PATH"}, func(b catalog.LogicalBackup) []any {
		p := b.Path
		if b.RemovedAt != nil {
			p += " (removed " + b.RemovedAt.UTC().Format(time.RFC3339) + ")"
		}
		return []any{b.Slug, b.Server, b.TakenAt.UTC().Format(time.RFC3339), cmdutil.HumanBytes(b.SizeBytes), b.SHA256, p}
	})
}

func runList(ctx context.Context, opts *ListOptions) error {
	if opts.Logical {
		return runListLogical(ctx, opts)
	}
	f := opts.Factory
	_, benv, err := backupEnv(ctx, f)
	if err != nil {
		return err
	}
	reports, err := backup.List(ctx, benv, opts.Server)
	if f.Structured() {
		if perr := f.PrintStructured(reports); perr != nil {
			return perr
		}
		return err
	}
	for _, r := range reports {
		fmt.Fprintf(f.IO.Out, "server %s (stanza %s): %s\n", r.Server, r.Stanza, r.Status)
		if r.Window != nil {
			fmt.Fprintf(f.IO.Out, "  restorable from %s to %s\n", r.Window.From.UTC().Format(time.RFC3339), r.Window.To.UTC().Format(time.RFC3339))
		}
		arch := fmt.Sprintf("  WAL archived: %d, failed: %d", r.Archiver.ArchivedCount, r.Archiver.FailedCount)
		if r.Archiver.Failing {
			arch += " (FAILING: last attempt failed)"
		}
		fmt.Fprintln(f.IO.Out, arch)
		for _, b := range r.Backups {
			fmt.Fprintf(f.IO.Out, "  %-5s %s  %s → %s  %s\n", b.Type, b.Label, b.Start.UTC().Format(time.RFC3339), b.Stop.UTC().Format(time.RFC3339), cmdutil.HumanBytes(b.SizeBytes))
		}
		if r.Error != "" {
			fmt.Fprintf(f.IO.Out, "  error: %s\n", r.Error)
		}
	}
	return err
}

// parseTime reads a restore time: RFC 3339 (2026-12-01T14:32:00Z, fractions allowed) or
// "2026-12-01 14:32[:05]" in UTC.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, validate.Errorf("invalid --time %q: give an RFC 3339 time such as 2026-12-01T14:32:00Z, or \"2026-12-01 14:32\" (UTC)", s)
}

// RestoreOptions are `tenant restore`'s: the library's options as the flags give them.
type RestoreOptions struct {
	Factory *cmdutil.Factory
	Restore mover.RestoreOptions
	// At is --time as given; KeepSource --keep-source.
	At, KeepSource string
	// Rollback rolls the tenant's interrupted in-place restore back instead.
	Rollback bool
	// FromExport restores from this export as a new customer (Restore.As) instead.
	FromExport string
}

// NewCmdRestore is `tenant restore`; runF, when not nil, replaces the run.
func NewCmdRestore(f *cmdutil.Factory, runF func(context.Context, *RestoreOptions) error) *cobra.Command {
	opts := &RestoreOptions{Factory: f}
	o := &opts.Restore
	cmd := &cobra.Command{
		Use:   "restore SLUG --time T [--as NEW-SLUG] [--keep-source D] [--dry-run] [--rollback] | restore SLUG --from-export FILE [--as NEW-SLUG] [--keep-source D]",
		Short: "Restore one tenant to a point in time from its server's backups, in place or as a new customer",
		Long: `Restore one tenant's database as it was at --time from its server's pgBackRest backups
and archived WAL, leaving every other customer on the server alone.

Only that database is restored (pgBackRest's selective restore) into a scratch instance
tenantctl starts on a free port of this host and removes afterwards; it is checked (the
database opens, goose's version is known, every table's rows are counted and summed).
With a restore host configured (restore_host in the config file, or
TENANTCTL_RESTORE_HOST; restore_ssh_config and restore_bin_dir), the scratch instance
runs there instead, driven over SSH, and --scratch-dir is a directory on that host.

With --as NEW-SLUG it comes in as a new customer, exactly like 'tenant create
--from-dump' (new roles and credentials, hardened, migrated, audited): the customer
compares and copies back what they need.

Without --as it replaces the tenant's database in place: the application's sessions
end, the current database is renamed aside (kept, unreachable by any login, for
--keep-source, default 24h; reconcile drops it after), the restored copy takes its name
with the same roles and password, so the application's DSN is unchanged; every table is
verified against the scratch copy before the switch. Each step is recorded: killed at
any instant, run the same command again to finish it, or 'tenantctl reconcile' (or
--rollback) to roll back one that had not switched. The warehouse copies the tenant in
full at its next rollup.

A time outside the server's restorable window ('backup list'), or before the tenant
existed, is refused (exit 2) with the window named.

With --from-export FILE (servers without WAL archiving): restore from one of the
tenant's exports ('backup run --logical', or 'tenant export') instead. When FILE is a
recorded logical backup ('backup list --logical') it must be the tenant's and match its
recorded SHA-256 and size, or nothing happens (exit 2). With --as NEW-SLUG it comes in
as a new customer, exactly like 'tenant create --from-dump'. Without --as it replaces
the tenant's database in place as above (sessions end, the current database kept for
--keep-source, same DSN): FILE must then be an archive the catalog recorded as this
tenant's (a logical backup, or a 'tenant export' its events name, by SHA-256), checked
again before it is restored; the restored database is checked (goose's version, rows
counted and summed per table) before the switch. Killed, rerun the same command or
'tenantctl reconcile' (or --rollback).`,
		Example: `  tenantctl backup list --server pg-a
  tenantctl tenant restore acme --time 2026-12-01T14:32:00Z --dry-run
  tenantctl tenant restore acme --time 2026-12-01T14:32:00Z --as acme-restored
  tenantctl tenant restore acme --time "2026-12-01 14:32" --keep-source 72h
  TENANTCTL_RESTORE_HOST=postgres@restore1.internal tenantctl tenant restore acme --time "2026-12-01 14:32" --scratch-dir /srv/scratch
  tenantctl backup list --logical --tenant acme
  tenantctl tenant restore acme --from-export /var/backups/tenantctl/acme/acme-20261201T020000.000Z.dump --as acme-restored
  tenantctl tenant restore acme --from-export /var/backups/tenantctl/acme/acme-20261201T020000.000Z.dump --keep-source 72h`,
		Args: cmdutil.ExactArgs(1, "a tenant SLUG"),
		RunE: cmdutil.RunE(opts, runF, runRestore, func(cmd *cobra.Command, args []string) error {
			o.Slug = args[0]
			if opts.FromExport != "" {
				for _, fl := range []string{"time", "rollback", "dry-run", "scratch-dir"} {
					if cmd.Flags().Changed(fl) {
						return validate.Errorf("--%s does not go with --from-export", fl)
					}
				}
				if err := validate.Slug(o.Slug); err != nil {
					return err
				}
				if o.As == "" {
					// In place: the kept copy's retention applies.
					var err error
					o.KeepSource, err = cmdutil.KeepSource(cmd, opts.KeepSource)
					return err
				}
				if cmd.Flags().Changed("keep-source") {
					return validate.Errorf("--keep-source is for an in-place restore: with --as the tenant's database is not replaced")
				}
				if err := validate.Slug(o.As); err != nil {
					return err
				}
				return nil
			}
			if opts.Rollback {
				return nil
			}
			if opts.At == "" {
				return validate.Errorf("--time is required (or --from-export FILE)")
			}
			var err error
			if o.Time, err = parseTime(opts.At); err != nil {
				return err
			}
			if o.KeepSource, err = cmdutil.KeepSource(cmd, opts.KeepSource); err != nil {
				return err
			}
			return o.Validate()
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.At, "time", "", "the point in time to restore to (RFC 3339, or \"YYYY-MM-DD HH:MM[:SS]\" UTC)")
	fl.StringVar(&opts.FromExport, "from-export", "", "restore from this export (a logical backup or 'tenant export' archive) instead of the server's backups, in place or --as a new customer")
	fl.StringVar(&o.As, "as", "", "bring the restored database in as a new tenant with this slug instead of replacing the current one")
	fl.StringVar(&o.AsName, "as-name", "", "the new tenant's name (default: the source's, marked restored)")
	fl.StringVar(&o.AsDomain, "as-domain", "", "the new tenant's domain (default: NEW-SLUG.<the source's domain>)")
	fl.StringVar(&opts.KeepSource, "keep-source", "24h", "how long the replaced database is kept before reconcile drops it; 0 drops it at once")
	fl.StringVar(&o.ScratchRoot, "scratch-dir", "", "where scratch instances are made (default: the system's temporary directory)")
	fl.BoolVar(&o.DryRun, "dry-run", false, "check the time against the window and change nothing")
	fl.BoolVar(&opts.Rollback, "rollback", false, "roll back the tenant's interrupted in-place restore instead")
	return cmd
}

func runRestore(ctx context.Context, opts *RestoreOptions) error {
	f, o := opts.Factory, &opts.Restore
	if opts.FromExport != "" {
		return runRestoreFromExport(ctx, opts)
	}
	if opts.Rollback {
		return f.WithMover(ctx, func(m *mover.Mover) error {
			if err := m.RollBackRestore(ctx, o.Slug); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "restore of tenant %s rolled back\n", o.Slug)
			return nil
		})
	}
	host, err := restoreHost(f)
	if err != nil {
		return err
	}
	o.RestoreHost = host
	return f.WithMover(ctx, func(m *mover.Mover) error {
		res, err := m.Restore(ctx, *o)
		if err != nil {
			return err
		}
		if f.Structured() {
			return f.PrintStructured(res)
		}
		when := res.Time.UTC().Format(time.RFC3339Nano)
		switch {
		case o.DryRun && res.Window != nil:
			fmt.Fprintf(f.IO.Out, "would restore tenant %s on %s to %s (restorable window %s to %s)\n", res.Slug, res.Server, when,
				res.Window.From.UTC().Format(time.RFC3339), res.Window.To.UTC().Format(time.RFC3339))
		case o.DryRun:
			fmt.Fprintf(f.IO.Out, "tenant %s has an interrupted restore to %s: %s\n", res.Slug, when, res.Status)
		case res.As != "":
			fmt.Fprintf(f.IO.Out, "tenant %s restored to %s as new tenant %s: %d tables, %d rows (%s)\n", res.Slug, when, res.As, res.Tables, res.Rows, cmdutil.Millis(res.Duration))
		default:
			fmt.Fprintf(f.IO.Out, "tenant %s restored in place to %s: %d tables, %d rows verified, downtime %s, total %s\n",
				res.Slug, when, res.Tables, res.Rows, cmdutil.Millis(res.Downtime), cmdutil.Millis(res.Duration))
			printKept(f, res.Status, res.KeptDB, res.KeepSourceUntil)
		}
		return nil
	})
}

// printKept says, after an in-place restore that switched, until when the replaced
// database is kept.
func printKept(f *cmdutil.Factory, status, keptDB string, until *time.Time) {
	if until != nil && status == "switched" {
		fmt.Fprintf(f.IO.Out, "the replaced database is kept as %s until %s; `tenantctl reconcile` drops it after that\n", keptDB, until.UTC().Format(time.RFC3339))
	}
}

// restoreHost is the configured restore host (nil for none): the config file's
// restore_host, restore_ssh_config and restore_bin_dir, or TENANTCTL_RESTORE_HOST,
// TENANTCTL_RESTORE_SSH_CONFIG and TENANTCTL_RESTORE_BIN_DIR.
func restoreHost(f *cmdutil.Factory) (*backup.RestoreHost, error) {
	dest := config.Resolve(false, "", f.Getenv("TENANTCTL_RESTORE_HOST"), f.File.RestoreHost, "")
	if dest == "" {
		return nil, nil
	}
	h := &backup.RestoreHost{Dest: dest,
		SSHConfig: config.Resolve(false, "", f.Getenv("TENANTCTL_RESTORE_SSH_CONFIG"), f.File.RestoreSSHConfig, ""),
		BinDir:    config.Resolve(false, "", f.Getenv("TENANTCTL_RESTORE_BIN_DIR"), f.File.RestoreBinDir, "")}
	return h, h.Validate()
}

// runRestoreFromExport is `tenant restore SLUG --from-export FILE [--as NEW-SLUG]`.
func runRestoreFromExport(ctx context.Context, opts *RestoreOptions) error {
	f, o := opts.Factory, opts.Restore
	return f.WithMover(ctx, func(m *mover.Mover) error {
		if o.As == "" {
			res, err := m.RestoreExportInPlace(ctx, mover.FromExportOptions{Slug: o.Slug, File: opts.FromExport, KeepSource: o.KeepSource})
			if err != nil {
				return err
			}
			if f.Structured() {
				return f.PrintStructured(res)
			}
			fmt.Fprintf(f.IO.Out, "tenant %s restored in place from %s (taken %s, SHA-256 checked): %d tables, %d rows, downtime %s, total %s\n",
				res.Slug, res.File, res.Time.UTC().Format(time.RFC3339), res.Tables, res.Rows, cmdutil.Millis(res.Downtime), cmdutil.Millis(res.Duration))
			printKept(f, res.Status, res.KeptDB, res.KeepSourceUntil)
			return nil
		}
		res, err := m.RestoreFromExport(ctx, mover.FromExportOptions{Slug: o.Slug, File: opts.FromExport, As: o.As, AsName: o.AsName, AsDomain: o.AsDomain})
		if err != nil {
			return err
		}
		how := "not a recorded logical backup: no checksum to compare"
		if res.Verified {
			how = "SHA-256 matches the logical backup taken " + res.TakenAt.UTC().Format(time.RFC3339)
		}
		return f.PrintResult(res, "tenant %s restored from %s as new tenant %s on %s at schema version %d (%s; %s)\n",
			res.Slug, res.File, res.As, res.Server, res.SchemaVersion, how, cmdutil.Millis(res.Duration))
	})
}
