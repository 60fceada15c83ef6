// Package config is `tenantctl config`: the config file's named contexts.
package config

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/cli/cmdutil"
	configlib "github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/secret"
)

// NewCmdConfig is `tenantctl config`.
func NewCmdConfig(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show the config file's named contexts and choose the current one",
		Long: `A config file may name several contexts, each with its own catalog (and key, migrations,
spec…); top-level settings apply to all of them:

  secret_key_file: /etc/tenantctl/key       # shared by every context
  current_context: staging
  contexts:
    staging:
      catalog: postgres://tenantctl@staging-db/catalog
    prod:
      catalog: postgres://tenantctl@prod-db/catalog
      secret_key_file: /etc/tenantctl/prod.key

The file is --config or TENANTCTL_CONFIG, else .tenantctl/config.yaml in the working
directory or the nearest parent, else $XDG_CONFIG_HOME/tenantctl/config.yaml
(~/.config/tenantctl/config.yaml). --context NAME or TENANTCTL_CONTEXT picks a context for
one command; 'config use-context' changes the default.`,
		Annotations: map[string]string{cmdutil.AnnotConfigEditor: "true"},
	}
	cmd.AddCommand(NewCmdGetContexts(f, nil), NewCmdUseContext(f, nil), NewCmdCurrentContext(f, nil))
	return cmd
}

// Options are those of the config commands.
type Options struct {
	Factory *cmdutil.Factory
	// Context is the context asked for with --context or TENANTCTL_CONTEXT ("" for the
	// file's current_context); for use-context, the context to make current.
	Context string
}

// newContextCmd is `config get-contexts` or `config current-context`: no arguments, the
// context in use.
func newContextCmd(f *cmdutil.Factory, use, short, example string, runF, run func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	return &cobra.Command{
		Use:         use,
		Short:       short,
		Example:     example,
		Args:        cmdutil.NoArgs,
		Annotations: map[string]string{cmdutil.AnnotConfigEditor: "true"},
		RunE:        cmdutil.RunE(opts, runF, run, opts.fromContextFlag),
	}
}

// NewCmdGetContexts is `config get-contexts`; runF, when not nil, replaces the run.
func NewCmdGetContexts(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	return newContextCmd(f, "get-contexts", "List the config file's contexts; * marks the current one",
		"  tenantctl config get-contexts\n  tenantctl config get-contexts -o json", runF, runGetContexts)
}

// fromContextFlag is the prepare step of the commands that read the context in use:
// --context or TENANTCTL_CONTEXT.
func (opts *Options) fromContextFlag(cmd *cobra.Command, _ []string) error {
	opts.Context = opts.Factory.ContextName(cmd)
	return nil
}

// current is the context in use: the one asked for, else the file's current_context.
func (opts *Options) current() string {
	if opts.Context != "" {
		return opts.Context
	}
	return opts.Factory.RawFile.CurrentContext
}

func runGetContexts(_ context.Context, opts *Options) error {
	f := opts.Factory
	type ctxRow struct {
		Name          string `json:"name"`
		Current       bool   `json:"current"`
		Catalog       string `json:"catalog"`
		SecretKeyFile string `json:"secret_key_file,omitempty"`
	}
	current := opts.current()
	rows := []ctxRow{}
	for _, name := range f.RawFile.ContextNames() {
		s, _ := f.RawFile.Select(name)
		rows = append(rows, ctxRow{Name: name, Current: name == current, Catalog: secret.RedactDSN(s.Catalog), SecretKeyFile: s.SecretKeyFile})
	}
	return cmdutil.PrintList(f, rows, []string{"CURRENT", "NAME", "CATALOG", "SECRET KEY FILE"}, func(r ctxRow) []any {
		mark := ""
		if r.Current {
			mark = "*"
		}
		return []any{mark, r.Name, r.Catalog, r.SecretKeyFile}
	})
}

// NewCmdUseContext is `config use-context`; runF, when not nil, replaces the run.
func NewCmdUseContext(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	return &cobra.Command{
		Use:         "use-context NAME",
		Short:       "Make NAME the config file's current context",
		Example:     "  tenantctl config use-context prod",
		Args:        cmdutil.ExactArgs(1, "a context name"),
		Annotations: map[string]string{cmdutil.AnnotConfigEditor: "true"},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return f.RawFile.ContextNames(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: cmdutil.RunE(opts, runF, runUseContext, cmdutil.Args(&opts.Context)),
	}
}

func runUseContext(_ context.Context, opts *Options) error {
	f := opts.Factory
	if f.ConfigRead == "" {
		return validate.Errorf("no config file found (looked for %s here and in parent directories, and %s)",
			configlib.DefaultPath, configlib.UserPath(f.Getenv))
	}
	if err := configlib.SetCurrentContext(f.ConfigRead, opts.Context); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "switched to context %q (in %s)\n", opts.Context, f.ConfigRead)
	return nil
}

// NewCmdCurrentContext is `config current-context`; runF, when not nil, replaces the run.
func NewCmdCurrentContext(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	return newContextCmd(f, "current-context", "Print the context in use", "  tenantctl config current-context", runF, runCurrentContext)
}

func runCurrentContext(_ context.Context, opts *Options) error {
	f := opts.Factory
	name := opts.current()
	if name == "" {
		return fmt.Errorf("no current context is set (config file: %s)", orNone(f.ConfigRead))
	}
	fmt.Fprintln(f.IO.Out, name)
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none found"
	}
	return s
}
