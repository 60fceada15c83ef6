// Package operator is `tenantctl operator`: the operators of the console and the API,
// their tokens and roles.
package operator

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
)

// NewCmdOperator is `tenantctl operator`.
func NewCmdOperator(f *cmdutil.Factory) *cobra.Command {
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
	cmd.AddCommand(NewCmdAdd(f, nil), NewCmdList(f, nil), NewCmdRevoke(f, nil))
	return cmd
}

// Options are those of `operator add`, `list` and `revoke`.
type Options struct {
	Factory *cmdutil.Factory
	Login   string
	// Role is add's --role.
	Role string
}

// NewCmdAdd is `operator add`; runF, when not nil, replaces the run.
func NewCmdAdd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:     "add LOGIN --role viewer|operator|admin",
		Short:   "Add an operator and print its token (once)",
		Example: "  tenantctl operator add alice --role operator\n  tenantctl operator add ci-bot --role operator -o json   # {\"login\":…,\"role\":…,\"token\":…}",
		Args:    cmdutil.ExactArgs(1, "a LOGIN"),
		RunE: cmdutil.RunE(opts, runF, runAdd, func(_ *cobra.Command, args []string) error {
			opts.Login = args[0]
			return catalog.ValidateOperator(opts.Login, opts.Role)
		}),
	}
	cmd.Flags().StringVar(&opts.Role, "role", "", "viewer, operator or admin (required)")
	return cmd
}

func runAdd(ctx context.Context, opts *Options) error {
	f, login, role := opts.Factory, opts.Login, opts.Role
	return f.WithStore(ctx, func(store *catalog.Store) error {
		token, err := store.AddOperator(ctx, login, role)
		if err != nil {
			return err
		}
		return f.PrintResult(map[string]string{"login": login, "role": role, "token": token},
			"operator %s added with role %s. Its token (shown only now; keep it secret):\n%s\n", login, role, token)
	})
}

// NewCmdList is `operator list`; runF, when not nil, replaces the run.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	return &cobra.Command{
		Use:   "list",
		Short: "List operators (never their tokens)",
		Args:  cmdutil.NoArgs,
		RunE:  cmdutil.RunE(opts, runF, runList, nil),
	}
}

func runList(ctx context.Context, opts *Options) error {
	operators := func(store *catalog.Store) ([]catalog.Operator, error) { return store.ListOperators(ctx) }
	return cmdutil.ListFromStore(ctx, opts.Factory, operators, []string{"LOGIN", "ROLE", "STATE", "CREATED", "CREATED BY", "LAST SEEN"}, func(o catalog.Operator) []any {
		state := "active"
		if o.RevokedAt != nil {
			state = "revoked " + cmdutil.LocalTime(*o.RevokedAt)
		}
		return []any{o.Login, o.Role, state, cmdutil.LocalTime(o.CreatedAt), o.CreatedBy, cmdutil.LocalTimeOr(o.LastSeenAt, "-")}
	})
}

// NewCmdRevoke is `operator revoke`; runF, when not nil, replaces the run.
func NewCmdRevoke(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	return &cobra.Command{
		Use:     "revoke LOGIN",
		Example: "  tenantctl operator revoke alice     # her token and console sessions stop working at once",
		Short:   "Revoke an operator: its token stops working and its console sessions end at once",
		Args:    cmdutil.ExactArgs(1, "a LOGIN"),
		RunE:    cmdutil.RunE(opts, runF, runRevoke, cmdutil.Args(&opts.Login)),
	}
}

func runRevoke(ctx context.Context, opts *Options) error {
	f := opts.Factory
	return f.WithStore(ctx, func(store *catalog.Store) error {
		if err := store.RevokeOperator(ctx, opts.Login); err != nil {
			return err
		}
		fmt.Fprintf(f.IO.Out, "operator %s revoked\n", opts.Login)
		return nil
	})
}
