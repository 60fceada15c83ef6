package main

import "github.com/spf13/cobra"

func (a *app) tenantCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Create, inspect, suspend, delete and purge customer tenants"}
	return cmd
}
