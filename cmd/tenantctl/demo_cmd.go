package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/demo"
	"github.com/tenantctl/tenantctl/devenv"
)

func init() {
	extraCommands = append(extraCommands, func(a *app) *cobra.Command { return a.demoCmd() })
}

func (a *app) demoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Build a small working fleet end to end (starts the local environment when no catalog is configured)",
		Long: `Build a small working fleet end to end: when no catalog is configured, start the local
environment (as 'tenantctl dev up' does); create three demo customer tenants spread over
the servers; fill each with a little service-desk data through its own credentials; and
print the fleet. Running it again does nothing new.`,
		Args:        noArgs,
		Annotations: map[string]string{annotCreatesConfig: "true"},
		GroupID:     "local",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if a.catalogDSN() == "" {
				fmt.Fprintln(a.out, "==> no catalog configured: starting the local environment (tenantctl dev up)")
				if _, err := devenv.Up(ctx, devenv.Options{Dir: devenv.DefaultDir, Servers: 2, ConfigPath: a.flags.config, Log: a.log}); err != nil {
					return err
				}
				f, err := config.Load(a.flags.config, true)
				if err != nil {
					return err
				}
				a.file = f
			}
			p, done, err := a.provisioner(ctx)
			if err != nil {
				return err
			}
			defer done()
			fmt.Fprintln(a.out, "==> creating demo customers and seeding them through their own credentials")
			res, err := demo.Run(ctx, p)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "    created: %v  seeded: %v\n", res.Created, res.Seeded)
			servers, err := p.Store.ListServers(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.out, "==> servers")
			if err := a.printServers(servers); err != nil {
				return err
			}
			tenants, err := p.Store.ListTenants(ctx, catalog.TenantFilter{})
			if err != nil {
				return err
			}
			fmt.Fprintln(a.out, "==> tenants")
			return a.printTenants(tenants)
		},
	}
}
