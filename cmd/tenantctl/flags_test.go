package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/cmd/cmdutil"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/rollout"
)

// The flags → options layer, checked without PostgreSQL: each command is built with a
// runF that captures the options instead of running (cli/cli's seam).

// execute runs cmd with args and reports whether runF was reached.
func execute(t *testing.T, cmd *cobra.Command, args ...string) error {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return cmd.ExecuteContext(context.Background())
}

// The hints for the terminal are added by type, and keep the wrapping context.
func TestDescribeErrorAddsFlagHintsByType(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want string
	}{
		{validate.Field("per-server", -1, "it must be at least 1"), "invalid --per-server -1: it must be at least 1"},
		{&validate.MissingError{Field: "dsn", What: "the warehouse database's connection string"}, "--dsn is required: the warehouse database's connection string"},
		{fmt.Errorf("tenant \"acme\" is at version 2: %w", &validate.FieldError{Field: "to", Reason: "must name a lower version"}),
			"tenant \"acme\" is at version 2: --to must name a lower version"},
		{provisioner.Confirm("delete", "acme", "other"), "refusing to delete \"acme\": pass --confirm acme to confirm"},
		{fmt.Errorf("rollup: %w", catalog.ErrNoWarehouse), "rollup: no warehouse registered: run `tenantctl warehouse init --dsn DSN`"},
		{rollout.ErrFleetDown, "migrate down works on one tenant at a time: name it with --tenant SLUG (rolling back the whole fleet is refused)"},
		{errors.New("unrelated"), "unrelated"},
	} {
		require.Equal(t, c.want, cmdutil.DescribeError(c.err))
	}
}
