package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/cmd/cmdutil"
)

func (a *app) operatorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "operator",
		Short: "Operators of the console and the API (tenantctl serve): tokens and roles",
		Long: `Operators log in to the console and call the API of 'tenantctl serve' with a token.

Roles: viewer reads everything but secrets; operator also creates, suspends, resumes,
migrates and rolls up tenants and grants MSP access; admin also deletes and purges
tenants, manages servers and operators, and may read a tenant's DSN.

A token is printed once, when the operator is added; the catalog keeps only its
SHA-256. Lost a token? Revoke the operator and add it again.`,
	}
	var role string
	add := &cobra.Command{
		Use:     "add LOGIN --role viewer|operator|admin",
		Short:   "Add an operator and print its token (once)",
		Example: "  tenantctl operator add alice --role operator\n  tenantctl operator add ci-bot --role operator -o json   # {\"login\":…,\"role\":…,\"token\":…}",
		Args:    cmdutil.ExactArgs(1, "a LOGIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := catalog.ValidateOperator(args[0], role); err != nil {
				return err
			}
			store, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			token, err := store.AddOperator(cmd.Context(), args[0], role)
			if err != nil {
				return err
			}
			if a.JSONOutput() {
				return a.PrintJSON(map[string]string{"login": args[0], "role": role, "token": token})
			}
			fmt.Fprintf(a.IO.Out, "operator %s added with role %s. Its token (shown only now; keep it secret):\n%s\n", args[0], role, token)
			return nil
		},
	}
	add.Flags().StringVar(&role, "role", "", "viewer, operator or admin (required)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List operators (never their tokens)",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			ops, err := store.ListOperators(cmd.Context())
			if err != nil {
				return err
			}
			if a.JSONOutput() {
				return a.PrintJSON(ops)
			}
			tw := a.Table("LOGIN", "ROLE", "STATE", "CREATED", "CREATED BY", "LAST SEEN")
			for _, o := range ops {
				state, seen := "active", "-"
				if o.RevokedAt != nil {
					state = "revoked " + o.RevokedAt.Local().Format(time.DateTime)
				}
				if o.LastSeenAt != nil {
					seen = o.LastSeenAt.Local().Format(time.DateTime)
				}
				cmdutil.Row(tw, o.Login, o.Role, state, o.CreatedAt.Local().Format(time.DateTime), o.CreatedBy, seen)
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke LOGIN",
		Short: "Revoke an operator: its token stops working and its console sessions end at once",
		Args:  cmdutil.ExactArgs(1, "a LOGIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			if err := store.RevokeOperator(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.IO.Out, "operator %s revoked\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(add, list, revoke)
	return cmd
}
