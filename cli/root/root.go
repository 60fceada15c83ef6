// Package root is the tenantctl command tree: the root command assembled from cli/…
// over one factory, and Run, which runs it and turns an error into its message and exit
// status. cmd/tenantctl is its main; the end-to-end tests (cmd/tenantctl/e2e/…) drive it
// in-process.
package root

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	accesscmd "github.com/tenantctl/tenantctl/cli/access"
	auditcmd "github.com/tenantctl/tenantctl/cli/audit"
	backupcmd "github.com/tenantctl/tenantctl/cli/backup"
	catalogcmd "github.com/tenantctl/tenantctl/cli/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	configcmd "github.com/tenantctl/tenantctl/cli/config"
	democmd "github.com/tenantctl/tenantctl/cli/demo"
	devcmd "github.com/tenantctl/tenantctl/cli/dev"
	eventscmd "github.com/tenantctl/tenantctl/cli/events"
	jobscmd "github.com/tenantctl/tenantctl/cli/jobs"
	migratecmd "github.com/tenantctl/tenantctl/cli/migrate"
	operatorcmd "github.com/tenantctl/tenantctl/cli/operator"
	reconcilecmd "github.com/tenantctl/tenantctl/cli/reconcile"
	reportcmd "github.com/tenantctl/tenantctl/cli/report"
	rollupcmd "github.com/tenantctl/tenantctl/cli/rollup"
	schedulercmd "github.com/tenantctl/tenantctl/cli/scheduler"
	secretcmd "github.com/tenantctl/tenantctl/cli/secret"
	servecmd "github.com/tenantctl/tenantctl/cli/serve"
	servercmd "github.com/tenantctl/tenantctl/cli/server"
	tenantcmd "github.com/tenantctl/tenantctl/cli/tenant"
	versioncmd "github.com/tenantctl/tenantctl/cli/version"
	warehousecmd "github.com/tenantctl/tenantctl/cli/warehouse"
	"github.com/tenantctl/tenantctl/internal/validate"
	buildversion "github.com/tenantctl/tenantctl/internal/version"
	"github.com/tenantctl/tenantctl/secret"
)

// version is this binary's version: stamped by make build and the Dockerfile, recorded
// by go install …@vX.Y.Z, or the checkout's VCS revision (package internal/version).
var version = buildversion.String()

// Run runs tenantctl with args and returns its exit status: the one place that turns an
// error into a message (with the hints that name the flag or command fixing it) and a
// status.
func Run(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer, getenv func(string) string) int {
	f := cmdutil.New(in, out, errOut, getenv)
	root := NewCmdRoot(f)
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(f.IO.ErrOut)
	err := root.ExecuteContext(ctx)
	f.Close() // the runtime environment a command started: its catalog, handles and pools
	if err == nil {
		return cmdutil.ExitOK
	}
	code := f.ExitCode(err)
	if !errors.Is(err, cmdutil.ErrSilent) {
		fmt.Fprintf(f.IO.ErrOut, "Error: %s\n", secret.Scrub(cmdutil.DescribeError(err)))
	}
	if !f.Ran {
		fmt.Fprintf(f.IO.ErrOut, "Run '%s --help' for usage.\n", root.Name())
	}
	return code
}

// NewCmdRoot assembles the command tree over one factory.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "tenantctl",
		Short: "One physically separate PostgreSQL database per customer, managed as a fleet",
		Long: `tenantctl gives every customer of a managed service provider its own PostgreSQL
database, with its own roles, hardened so nobody else can reach it; keeps the fleet
migrated; rolls every tenant's rows up into one MSP-only warehouse; and audits that no
customer can reach another's data.

Configuration comes from flags, then TENANTCTL_* environment variables, then the config
file: --config, else .tenantctl/config.yaml in this directory or the nearest parent (written
by 'tenantctl dev up'), else $XDG_CONFIG_HOME/tenantctl/config.yaml. A config file may hold
named contexts (one catalog each): see 'tenantctl config get-contexts'.

Exit status: 0 success; 1 the operation failed (an audit that could not run too);
2 bad usage or invalid input, including an unknown command (nothing was changed);
3 the audit found violations.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		Version:           version,
		PersistentPreRunE: f.Setup,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return validate.Invalid(err) })
	f.BindGlobalFlags(root.PersistentFlags())

	root.AddGroup(&cobra.Group{ID: "fleet", Title: "Fleet commands:"}, &cobra.Group{ID: "local", Title: "Local environment:"})
	// Every command is registered here and only here; a new command adds its line.
	for _, c := range []*cobra.Command{
		catalogcmd.NewCmdCatalog(f),
		servercmd.NewCmdServer(f),
		warehousecmd.NewCmdWarehouse(f),
		tenantcmd.NewCmdTenant(f, backupcmd.NewCmdRestore(f, nil)),
		eventscmd.NewCmdEvents(f, nil),
		jobscmd.NewCmdJobs(f, nil),
		accesscmd.NewCmdAccess(f),
		auditcmd.NewCmdAudit(f, nil),
		migratecmd.NewCmdMigrate(f),
		reconcilecmd.NewCmdReconcile(f, nil),
		rollupcmd.NewCmdRollup(f),
		schedulercmd.NewCmdScheduler(f, nil),
		democmd.NewCmdDemo(f, nil),
		servecmd.NewCmdServe(f, nil),
		operatorcmd.NewCmdOperator(f),
		reportcmd.NewCmdReport(f, nil),
		secretcmd.NewCmdSecret(f),
		configcmd.NewCmdConfig(f),
		backupcmd.NewCmdBackup(f),
	} {
		if c.GroupID == "" {
			c.GroupID = "fleet"
		}
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{devcmd.NewCmdDev(f)} {
		c.GroupID = "local"
		root.AddCommand(c)
	}
	root.AddCommand(versioncmd.NewCmdVersion(f, version, nil))
	finishTree(f, root)
	f.Root = root
	return root
}

// finishTree installs completions (WireNames) and gives every command group a behaviour for arguments it does not know: an
// unknown subcommand is bad usage (exit 2) naming the real ones, instead of cobra's
// default of printing the parent's help and exiting 0. With no argument a group still
// prints its help.
func finishTree(f *cmdutil.Factory, root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		f.WireNames(c)
		if c == root || !c.HasSubCommands() || c.Run != nil || c.RunE != nil {
			return
		}
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			var names []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name())
				}
			}
			return validate.Errorf("unknown command %q for %q: use %s", args[0], cmd.CommandPath(), cmdutil.OrList(names))
		}
	}
	walk(root)
}
