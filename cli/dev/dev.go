// Package dev is `tenantctl dev`: a local tenantctl environment on private PostgreSQL
// clusters.
package dev

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/devenv"
)

// Options are those of `dev up`, `dev down` and `dev status`.
type Options struct {
	Factory *cmdutil.Factory
	// Dir is the clusters' directory: --dir, else the config file's dev_dir, else the
	// default.
	Dir string
	// Servers is up's number of tenant servers; Purge down's --purge; NoBackup up's
	// --no-backup.
	Servers  int
	Purge    bool
	NoBackup bool
}

// dirFlag declares up's, down's and status's --dir and returns the prepare step that
// resolves it into opts.Dir: the flag, else the config file's dev_dir, else the default.
func dirFlag(cmd *cobra.Command, opts *Options, usage string) func(*cobra.Command, []string) error {
	var flag string
	cmd.Flags().StringVar(&flag, "dir", devenv.DefaultDir, usage)
	return func(cmd *cobra.Command, _ []string) error {
		switch {
		case cmd.Flags().Changed("dir"):
			opts.Dir = flag
		case opts.Factory.File.DevDir != "":
			opts.Dir = opts.Factory.File.DevDir
		default:
			opts.Dir = devenv.DefaultDir
		}
		return nil
	}
}

// PrintDataMoved says, in one line, that the clusters could not live where asked.
func PrintDataMoved(f *cmdutil.Factory, env *devenv.Env) {
	if env.DataDir != env.Dir {
		why := "recorded in " + env.Dir
		if env.Moved != "" {
			why = env.Moved + " is not searchable by the postgres OS user"
		}
		fmt.Fprintf(f.IO.Out, "note: cluster data is in %s (%s); the secret key stays in %s\n", env.DataDir, why, env.Dir)
	}
}

// NewCmdDev is `tenantctl dev`.
func NewCmdDev(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local tenantctl environment on private PostgreSQL clusters (no Docker needed)",
	}
	cmd.AddCommand(NewCmdUp(f, nil), NewCmdDown(f, nil), NewCmdStatus(f, nil))
	return cmd
}

// NewCmdUp is `dev up`; runF, when not nil, replaces the run.
func NewCmdUp(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:     "up [--servers N] [--dir DIR]",
		Example: "  tenantctl dev up\n  tenantctl dev up --servers 3 --dir /var/tmp/tenantctl\n  tenantctl dev up --no-backup     # no pgBackRest even when it is installed",
		Short:   "Start a control cluster (catalog, warehouse) and N tenant servers, and write the config",
		Long: `Start private PostgreSQL clusters with the server binaries installed on this machine:
a control cluster holding the catalog and warehouse databases, and N tenant servers, each
with a least-privilege admin role (LOGIN CREATEDB CREATEROLE). Initialise the catalog,
register the servers and the warehouse, generate the secret key (mode 0600) and write
./.tenantctl/config.yaml so later commands need no flags. Running it again is harmless.

When pgbackrest is installed (Debian/Ubuntu: apt-get install pgbackrest), every tenant
server archives its WAL to a local pgBackRest repository in the clusters' directory: the
stanza is recorded ('backup configure') and checked ('backup setup --check'), so
'backup run' and 'tenant restore --time' work at once. --no-backup goes without.`,
		Args:        cmdutil.NoArgs,
		Annotations: map[string]string{cmdutil.AnnotCreatesConfig: "true"},
	}
	cmd.RunE = cmdutil.RunE(opts, runF, runUp, dirFlag(cmd, opts, "directory for the clusters' data"))
	cmd.Flags().IntVar(&opts.Servers, "servers", 2, "number of tenant servers")
	cmd.Flags().BoolVar(&opts.NoBackup, "no-backup", false, "do not configure pgBackRest on the tenant servers even when it is installed")
	return cmd
}

func runUp(ctx context.Context, opts *Options) error {
	f := opts.Factory
	start := time.Now()
	env, err := devenv.Up(ctx, devenv.Options{
		Dir: opts.Dir, Servers: opts.Servers, ConfigPath: f.Flags.Config, NoBackup: opts.NoBackup, Log: f.Log,
	})
	if err != nil {
		return err
	}
	PrintDataMoved(f, env)
	fmt.Fprintf(f.IO.Out, "dev environment up in %s (%s)\n", env.DataDir, cmdutil.Millis(time.Since(start)))
	fmt.Fprintf(f.IO.Out, "  control  127.0.0.1:%d  databases catalog, warehouse\n", env.Control.Port)
	for i := 0; i < len(env.Servers); i++ {
		name := devenv.ServerName(i)
		fmt.Fprintf(f.IO.Out, "  %-8s 127.0.0.1:%d\n", name, env.Servers[name].Port)
	}
	if len(env.Backup) > 0 {
		fmt.Fprintf(f.IO.Out, "backups: %s archive WAL to a local pgBackRest repository in %s; try: tenantctl backup run\n",
			strings.Join(env.Backup, ", "), filepath.Join(env.DataDir, devenv.BackupDir))
	} else {
		fmt.Fprintf(f.IO.Out, "backups: none (%s)\n", env.NoBackup)
	}
	fmt.Fprintf(f.IO.Out, "config written to %s; try: tenantctl server list\n", f.Flags.Config)
	fmt.Fprintln(f.IO.Out, "the warehouse: psql \"$(tenantctl warehouse dsn)\"")
	return nil
}

// NewCmdDown is `dev down`; runF, when not nil, replaces the run.
func NewCmdDown(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:     "down [--purge]",
		Example: "  tenantctl dev down\n  tenantctl dev down --purge     # delete the clusters, the key, the config and the demo's migrations",
		Short:   "Stop the local clusters (--purge deletes everything dev up and demo created, and lists it)",
		Args:    cmdutil.NoArgs,
	}
	cmd.RunE = cmdutil.RunE(opts, runF, runDown, dirFlag(cmd, opts, "directory of the clusters' data"))
	cmd.Flags().BoolVar(&opts.Purge, "purge", false, "also delete the clusters' data, the secret key, the config file and the demo's migrations")
	return cmd
}

func runDown(ctx context.Context, opts *Options) error {
	f := opts.Factory
	removed, err := devenv.Down(ctx, opts.Dir, f.Flags.Config, opts.Purge)
	if err != nil {
		return err
	}
	if !opts.Purge {
		fmt.Fprintf(f.IO.Out, "dev environment in %s stopped (data kept; 'dev down --purge' deletes it)\n", devenv.DataDir(opts.Dir))
		return nil
	}
	fmt.Fprintf(f.IO.Out, "dev environment stopped and deleted; removed:\n")
	for _, p := range removed {
		fmt.Fprintf(f.IO.Out, "  %s\n", p)
	}
	return nil
}

// NewCmdStatus is `dev status`; runF, when not nil, replaces the run.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:     "status",
		Example: "  tenantctl dev status\n  tenantctl dev status -o json",
		Short:   "Show which local clusters run, and how to reach the warehouse",
		Args:    cmdutil.NoArgs,
	}
	cmd.RunE = cmdutil.RunE(opts, runF, runStatus, dirFlag(cmd, opts, "directory of the clusters' data"))
	return cmd
}

func runStatus(ctx context.Context, opts *Options) error {
	f := opts.Factory
	st, err := devenv.Status(ctx, opts.Dir)
	if err != nil {
		return err
	}
	if f.Structured() {
		return f.PrintStructured(st)
	}
	tw := f.Table("CLUSTER", "PORT", "RUNNING", "PID", "DIR")
	for _, s := range st {
		cmdutil.Row(tw, s.Name, s.Port, s.Running, s.PID, s.Dir)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !f.Flags.NoHeaders {
		fmt.Fprintln(f.IO.Out, "\ncatalog and warehouse databases are on the control cluster; connect with:\n"+
			"  psql \"$(tenantctl warehouse dsn)\"     # the MSP-only warehouse (prints a password)")
	}
	return nil
}
