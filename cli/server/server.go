// Package server is `tenantctl server`: register, list, drain, change, refill, check and
// evacuate the PostgreSQL servers that hold tenant databases.
package server

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
)

// NewCmdServer is `tenantctl server`.
func NewCmdServer(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "server", Short: "Register and manage the PostgreSQL servers that hold tenant databases"}
	cmd.AddCommand(NewCmdAdd(f, nil), NewCmdSet(f, nil), NewCmdRefill(f, nil))
	cmd.AddCommand(NewCmdHBA(f, nil))
	cmd.AddCommand(NewCmdEvacuate(f, nil))
	cmd.AddCommand(NewCmdList(f, nil))
	for _, v := range simpleCommands {
		cmd.AddCommand(NewCmdSimple(f, v.use, v.short, v.example, nil))
	}
	return cmd
}

// AddOptions are `server add`'s.
type AddOptions struct {
	Factory *cmdutil.Factory
	Add     provisioner.AddServerOptions
	DSNFile string
}

// NewCmdAdd is `server add`; runF, when not nil, replaces the run.
func NewCmdAdd(f *cmdutil.Factory, runF func(context.Context, *AddOptions) error) *cobra.Command {
	opts := &AddOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "add NAME --dsn DSN [--capacity N] [--label k=v]...",
		Short: "Register a server (needs a role with CREATEDB and CREATEROLE; superuser is not required)",
		Long: `Register a PostgreSQL server (14 or newer) that will hold tenant databases.

The DSN's role needs LOGIN, CREATEDB and CREATEROLE; it does not need to be a superuser.
tenantctl connects to verify that, then stores the DSN encrypted in the catalog. Pass
--dsn - (stdin) or --dsn-file to keep the password out of the process list.

The DSN may also bound how long tenantctl waits on this server: connect_timeout (10 s),
liveness_interval and liveness_timeout (10s, 5s: a statement waiting that long for a
reply makes tenantctl check the server still answers, and gives up if it is silent),
statement_grace (30s past statement_timeout). See docs/guarantees.md, Timeouts.`,
		Example: `  # the DSN (with its password) from a file or stdin, never on the command line
  tenantctl server add pg-a --dsn-file /etc/tenantctl/pg-a.dsn --capacity 500 --label zone=eu1
  vault kv get -field=dsn secret/pg-b | tenantctl server add pg-b --dsn -
  # a server across a slow link, its DSN ending in ?liveness_timeout=15s: more
  # patience before it counts as stopped
  tenantctl server add pg-c --dsn-file /etc/tenantctl/pg-c.dsn`,
		Args: cmdutil.ExactArgs(1, "a server NAME"),
		RunE: cmdutil.RunE(opts, runF, runAdd, cmdutil.Args(&opts.Add.Name)),
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Add.DSN, "dsn", "", "admin connection string (required; '-' reads it from stdin, keeping the password out of ps)")
	fl.StringVar(&opts.DSNFile, "dsn-file", "", "read the admin connection string from this file instead")
	fl.IntVar(&opts.Add.Capacity, "capacity", 1000, "most tenants this server may hold")
	fl.StringArrayVar(&opts.Add.Labels, "label", nil, "label k=v, repeatable; tenants created with matching --label land here")
	fl.IntVar(&opts.Add.Spares, "spares", 0, "spare databases to keep ready for instant tenant creation (warm pool; filled by reconcile and the scheduler)")
	fl.StringVar(&opts.Add.CloneStrategy, "clone-strategy", "file_copy", "how tenant databases are cloned from the template: file_copy or wal_log")
	return cmd
}

func runAdd(ctx context.Context, opts *AddOptions) error {
	f, add := opts.Factory, opts.Add
	var err error
	if add.DSN, err = f.ReadDSN(add.DSN, opts.DSNFile); err != nil {
		return err
	}
	if _, err := add.Validate(); err != nil {
		return err
	}
	return f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error {
		srv, err := p.AddServer(ctx, add)
		if err != nil {
			return err
		}
		return f.PrintResult(srv, "server %s registered (%s:%d, PostgreSQL %d, role %s, capacity %d)\n",
			srv.Name, srv.Host, srv.Port, srv.VersionNum/10000, srv.AdminRole, srv.Capacity)
	})
}

// ListOptions are `server list`'s.
type ListOptions struct {
	Factory *cmdutil.Factory
}

// NewCmdList is `server list`; runF, when not nil, replaces the run.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	return &cobra.Command{
		Use:     "list",
		Example: "  tenantctl server list\n  tenantctl server list -o json",
		Short:   "List registered servers with their tenant counts",
		Args:    cmdutil.NoArgs,
		RunE:    cmdutil.RunE(opts, runF, runList, nil),
	}
}

func runList(ctx context.Context, opts *ListOptions) error {
	servers := func(store *catalog.Store) ([]catalog.Server, error) { return store.ListServers(ctx) }
	return cmdutil.ListFromStore(ctx, opts.Factory, servers, serverHeader, serverRow)
}

// simpleCommands are the commands that take a server NAME and nothing else, and what
// each does to it.
var simpleCommands = []struct {
	use, short, example string
	do                  cmdutil.Action
}{
	{"drain", "Stop placing new tenants on a server", "  tenantctl server drain pg-a     # no new tenants on pg-a",
		func(p *provisioner.Provisioner, ctx context.Context, name string) error {
			return p.Store.SetDraining(ctx, name, true)
		}},
	{"undrain", "Place new tenants on a drained server again", "  tenantctl server undrain pg-a",
		func(p *provisioner.Provisioner, ctx context.Context, name string) error {
			return p.Store.SetDraining(ctx, name, false)
		}},
	{"remove", "Unregister a server that holds no tenants (its spare databases are dropped)", "  tenantctl server remove pg-a     # refused while tenants live there",
		(*provisioner.Provisioner).RemoveServer},
}

// SimpleOptions are those of `server drain`, `undrain` and `remove`.
type SimpleOptions struct {
	Factory *cmdutil.Factory
	// Action is the command: drain, undrain or remove.
	Action string
	Name   string
}

// NewCmdSimple is `server drain`, `server undrain` or `server remove` (use); runF, when
// not nil, replaces the run.
func NewCmdSimple(f *cmdutil.Factory, use, short, example string, runF func(context.Context, *SimpleOptions) error) *cobra.Command {
	opts := &SimpleOptions{Factory: f, Action: use}
	return &cobra.Command{
		Use:     use + " NAME",
		Short:   short,
		Example: example,
		Args:    cmdutil.ExactArgs(1, "a server NAME"),
		RunE:    cmdutil.RunE(opts, runF, runSimple, cmdutil.Args(&opts.Name)),
	}
}

func runSimple(ctx context.Context, opts *SimpleOptions) error {
	for _, c := range simpleCommands {
		if c.use == opts.Action {
			return opts.Factory.RunAction(ctx, "server", opts.Name, opts.Action, c.do)
		}
	}
	return fmt.Errorf("unknown server action %q", opts.Action)
}

// PrintServers prints servers as -o asks.
func PrintServers(f *cmdutil.Factory, servers []catalog.Server) error {
	return cmdutil.PrintList(f, servers, serverHeader, serverRow)
}

// serverHeader and serverRow are the table of `server list`.
var serverHeader = []string{"NAME", "HOST", "TENANTS", "SPARES", "CAPACITY", "DRAINING", "LABELS", "TEMPLATE"}

func serverRow(s catalog.Server) []any {
	tmpl := "-"
	if s.TemplateVersion != nil {
		tmpl = fmt.Sprintf("v%d", *s.TemplateVersion)
	}
	return []any{s.Name, fmt.Sprintf("%s:%d", s.Host, s.Port), s.Tenants, fmt.Sprintf("%d/%d", s.SparesReady, s.Spares), s.Capacity, s.Draining, validate.FormatLabels(s.Labels), tmpl}
}
