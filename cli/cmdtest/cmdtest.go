// Package cmdtest helps the flags → options tests of the packages under cli/:
// they build a command with a runF that captures its options and run it with arguments,
// with no catalog, no PostgreSQL and no I/O.
package cmdtest

import (
	"context"
	"io"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/cli/cmdutil"
)

// Execute runs cmd with args, its output discarded, and returns its error.
func Execute(t *testing.T, cmd *cobra.Command, args ...string) error {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return cmd.ExecuteContext(context.Background())
}

// Capture returns a runF that records in *got the options it is given.
func Capture[O any](got **O) func(context.Context, *O) error {
	return func(_ context.Context, o *O) error { *got = o; return nil }
}

// Refuse returns a runF that fails the test if reached: the flags were to be refused.
func Refuse[O any](t *testing.T) func(context.Context, *O) error {
	return func(context.Context, *O) error {
		t.Helper()
		t.Fatal("a refused flag must not reach the run")
		return nil
	}
}

// Factory is a factory with empty streams and environment.
func Factory() *cmdutil.Factory { return cmdutil.NewTest() }

// Names are the names of cmd's subcommands, sorted.
func Names(cmd *cobra.Command) []string {
	var out []string
	for _, c := range cmd.Commands() {
		out = append(out, c.Name())
	}
	return out
}
