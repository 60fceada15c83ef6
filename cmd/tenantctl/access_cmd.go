package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/internal/cmd/cmdutil"
	"github.com/tenantctl/tenantctl/provisioner"
)

func (a *app) accessCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "access",
		Short: "Time-limited access of MSP staff to one tenant's database",
		Long: `Give an MSP login its own role on one tenant's database (msp_<login>_<tenant id>), with
read or write access, expiring at the server (VALID UNTIL) and in the catalog; default
24 hours. Grants are recorded in the event log; the audit treats them as expected;
reconcile drops expired ones; deleting a tenant revokes them.`,
	}
	var g provisioner.GrantOptions
	grant := &cobra.Command{
		Use:     "grant LOGIN --tenant SLUG [--level read|write] [--expires DURATION|TIME|never] [--reason TEXT]",
		Short:   "Grant a login access to a tenant",
		Example: `  tenantctl access grant alice --tenant acme --level read --expires 8h --reason "INC-4711 data fix"`,
		Args:    cmdutil.ExactArgs(1, "a LOGIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			g.Login = args[0]
			if _, err := g.Validate(time.Now()); err != nil {
				return err
			}
			p, done, err := a.Provisioner(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			out, err := p.GrantAccess(cmd.Context(), g)
			if err != nil {
				return err
			}
			if a.JSONOutput() {
				return a.PrintJSON(out)
			}
			exp := "never"
			if out.ExpiresAt != nil {
				exp = out.ExpiresAt.Local().Format(time.DateTime)
			}
			fmt.Fprintf(a.IO.Out, "%s has %s access to %s until %s (role %s); connect with: tenantctl access dsn %s --tenant %s\n",
				out.Login, out.Level, out.Slug, exp, out.Role, out.Login, out.Slug)
			return nil
		},
	}
	grant.Flags().StringVar(&g.Slug, "tenant", "", "the tenant (required)")
	grant.Flags().StringVar(&g.Level, "level", "read", "read (SELECT) or write (DML)")
	grant.Flags().StringVar(&g.Expires, "expires", "", "a duration (8h), an RFC 3339 time, or never (default 24h)")
	grant.Flags().StringVar(&g.Reason, "reason", "", "why, for the event log (e.g. a ticket number)")

	var slug, login string
	revoke := &cobra.Command{
		Use:   "revoke LOGIN --tenant SLUG",
		Short: "Revoke a login's access to a tenant (ends its sessions, drops its role)",
		Args:  cmdutil.ExactArgs(1, "a LOGIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStore(cmd, func(p *provisioner.Provisioner) error {
				if err := p.RevokeAccess(cmd.Context(), args[0], slug); err != nil {
					return err
				}
				fmt.Fprintf(a.IO.Out, "access of %s to %s revoked\n", args[0], slug)
				return nil
			})
		},
	}
	revoke.Flags().StringVar(&slug, "tenant", "", "the tenant (required)")

	list := &cobra.Command{
		Use:   "list [--tenant SLUG] [--login LOGIN]",
		Short: "List access grants",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd, func(p *provisioner.Provisioner) error {
				grants, err := p.Store.ListAccessGrants(cmd.Context(), slug, login)
				if err != nil {
					return err
				}
				if a.JSONOutput() {
					return a.PrintJSON(grants)
				}
				tw := a.Table("TENANT", "LOGIN", "LEVEL", "EXPIRES", "ROLE", "GRANTED BY", "REASON")
				for _, g := range grants {
					exp := "never"
					if g.ExpiresAt != nil {
						exp = g.ExpiresAt.Local().Format(time.DateTime)
					}
					cmdutil.Row(tw, g.Slug, g.Login, g.Level, exp, g.Role, g.GrantedBy, cmdutil.Dash(g.Reason))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&slug, "tenant", "", "only this tenant's grants")
	list.Flags().StringVar(&login, "login", "", "only this login's grants")

	dsn := &cobra.Command{
		Use:   "dsn LOGIN --tenant SLUG",
		Short: "Print the connection string of a login's access (contains its password)",
		Args:  cmdutil.ExactArgs(1, "a LOGIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStore(cmd, func(p *provisioner.Provisioner) error {
				d, err := p.AccessDSN(cmd.Context(), args[0], slug)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.IO.Out, d)
				return nil
			})
		},
	}
	dsn.Flags().StringVar(&slug, "tenant", "", "the tenant (required)")
	cmd.AddCommand(grant, revoke, list, dsn)
	return cmd
}
