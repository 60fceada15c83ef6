package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/devenv"
	"github.com/tenantctl/tenantctl/internal/cmd/cmdutil"
)

func (a *app) devDir(cmd *cobra.Command, flag string) string {
	if cmd.Flags().Changed("dir") {
		return flag
	}
	if a.File.DevDir != "" {
		return a.File.DevDir
	}
	return devenv.DefaultDir
}

// printDataMoved says, in one line, that the clusters could not live where asked.
func (a *app) printDataMoved(env *devenv.Env) {
	if env.DataDir != env.Dir {
		why := "recorded in " + env.Dir
		if env.Moved != "" {
			why = env.Moved + " is not searchable by the postgres OS user"
		}
		fmt.Fprintf(a.IO.Out, "note: cluster data is in %s (%s); the secret key stays in %s\n", env.DataDir, why, env.Dir)
	}
}

func (a *app) devCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local tenantctl environment on private PostgreSQL clusters (no Docker needed)",
	}
	var dir string
	var servers int
	up := &cobra.Command{
		Use:   "up [--servers N] [--dir DIR]",
		Short: "Start a control cluster (catalog, warehouse) and N tenant servers, and write the config",
		Long: `Start private PostgreSQL clusters with the server binaries installed on this machine:
a control cluster holding the catalog and warehouse databases, and N tenant servers, each
with a least-privilege admin role (LOGIN CREATEDB CREATEROLE). Initialise the catalog,
register the servers and the warehouse, generate the secret key (mode 0600) and write
./.tenantctl/config.yaml so later commands need no flags. Running it again is harmless.`,
		Args:        cmdutil.NoArgs,
		Annotations: map[string]string{cmdutil.AnnotCreatesConfig: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now()
			env, err := devenv.Up(cmd.Context(), devenv.Options{
				Dir: a.devDir(cmd, dir), Servers: servers, ConfigPath: a.Flags.Config, Log: a.Log,
			})
			if err != nil {
				return err
			}
			a.printDataMoved(env)
			fmt.Fprintf(a.IO.Out, "dev environment up in %s (%s)\n", env.DataDir, time.Since(start).Round(time.Millisecond))
			fmt.Fprintf(a.IO.Out, "  control  127.0.0.1:%d  databases catalog, warehouse\n", env.Control.Port)
			for i := 0; i < len(env.Servers); i++ {
				name := devenv.ServerName(i)
				fmt.Fprintf(a.IO.Out, "  %-8s 127.0.0.1:%d\n", name, env.Servers[name].Port)
			}
			fmt.Fprintf(a.IO.Out, "config written to %s; try: tenantctl server list\n", a.Flags.Config)
			fmt.Fprintln(a.IO.Out, "the warehouse: psql \"$(tenantctl warehouse dsn)\"")
			return nil
		},
	}
	up.Flags().StringVar(&dir, "dir", devenv.DefaultDir, "directory for the clusters' data")
	up.Flags().IntVar(&servers, "servers", 2, "number of tenant servers")
	cmd.AddCommand(up)

	var purge bool
	down := &cobra.Command{
		Use:   "down [--purge]",
		Short: "Stop the local clusters (--purge deletes everything dev up and demo created, and lists it)",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d := a.devDir(cmd, dir)
			removed, err := devenv.Down(cmd.Context(), d, a.Flags.Config, purge)
			if err != nil {
				return err
			}
			if !purge {
				fmt.Fprintf(a.IO.Out, "dev environment in %s stopped (data kept; 'dev down --purge' deletes it)\n", devenv.DataDir(d))
				return nil
			}
			fmt.Fprintf(a.IO.Out, "dev environment stopped and deleted; removed:\n")
			for _, p := range removed {
				fmt.Fprintf(a.IO.Out, "  %s\n", p)
			}
			return nil
		},
	}
	down.Flags().StringVar(&dir, "dir", devenv.DefaultDir, "directory of the clusters' data")
	down.Flags().BoolVar(&purge, "purge", false, "also delete the clusters' data, the secret key, the config file and the demo's migrations")
	cmd.AddCommand(down)

	status := &cobra.Command{
		Use:   "status",
		Short: "Show which local clusters run, and how to reach the warehouse",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := devenv.Status(cmd.Context(), a.devDir(cmd, dir))
			if err != nil {
				return err
			}
			if a.JSONOutput() {
				return a.PrintJSON(st)
			}
			tw := a.Table("CLUSTER", "PORT", "RUNNING", "PID", "DIR")
			for _, s := range st {
				cmdutil.Row(tw, s.Name, s.Port, s.Running, s.PID, s.Dir)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if !a.Flags.NoHeaders {
				fmt.Fprintln(a.IO.Out, "\ncatalog and warehouse databases are on the control cluster; connect with:\n"+
					"  psql \"$(tenantctl warehouse dsn)\"     # the MSP-only warehouse (prints a password)")
			}
			return nil
		},
	}
	status.Flags().StringVar(&dir, "dir", devenv.DefaultDir, "directory of the clusters' data")
	cmd.AddCommand(status)
	return cmd
}
