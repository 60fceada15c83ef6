package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/internal/cmd/cmdutil"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/secret"
)

func (a *app) configCmd() *cobra.Command {
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
	cmd.AddCommand(&cobra.Command{
		Use:         "get-contexts",
		Short:       "List the config file's contexts; * marks the current one",
		Example:     "  tenantctl config get-contexts\n  tenantctl config get-contexts -o json",
		Args:        cmdutil.NoArgs,
		Annotations: map[string]string{cmdutil.AnnotConfigEditor: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			type ctxRow struct {
				Name          string `json:"name"`
				Current       bool   `json:"current"`
				Catalog       string `json:"catalog"`
				SecretKeyFile string `json:"secret_key_file,omitempty"`
			}
			current := a.ContextName(cmd)
			if current == "" {
				current = a.RawFile.CurrentContext
			}
			rows := []ctxRow{}
			for _, name := range a.RawFile.ContextNames() {
				s, _ := a.RawFile.Select(name)
				rows = append(rows, ctxRow{Name: name, Current: name == current, Catalog: secret.RedactDSN(s.Catalog), SecretKeyFile: s.SecretKeyFile})
			}
			if a.JSONOutput() {
				return a.PrintJSON(rows)
			}
			tw := a.Table("CURRENT", "NAME", "CATALOG", "SECRET KEY FILE")
			for _, r := range rows {
				mark := ""
				if r.Current {
					mark = "*"
				}
				cmdutil.Row(tw, mark, r.Name, r.Catalog, r.SecretKeyFile)
			}
			return tw.Flush()
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:         "use-context NAME",
		Short:       "Make NAME the config file's current context",
		Example:     "  tenantctl config use-context prod",
		Args:        cmdutil.ExactArgs(1, "a context name"),
		Annotations: map[string]string{cmdutil.AnnotConfigEditor: "true"},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return a.RawFile.ContextNames(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(_ *cobra.Command, args []string) error {
			if a.ConfigRead == "" {
				return validate.Errorf("no config file found (looked for %s here and in parent directories, and %s)",
					config.DefaultPath, config.UserPath(a.Getenv))
			}
			if err := config.SetCurrentContext(a.ConfigRead, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.IO.Out, "switched to context %q (in %s)\n", args[0], a.ConfigRead)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:         "current-context",
		Short:       "Print the context in use",
		Args:        cmdutil.NoArgs,
		Annotations: map[string]string{cmdutil.AnnotConfigEditor: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			name := a.ContextName(cmd)
			if name == "" {
				name = a.RawFile.CurrentContext
			}
			if name == "" {
				return fmt.Errorf("no current context is set (config file: %s)", orNone(a.ConfigRead))
			}
			fmt.Fprintln(a.IO.Out, name)
			return nil
		},
	})
	return cmd
}

func orNone(s string) string {
	if s == "" {
		return "none found"
	}
	return s
}
