// Package version is `tenantctl version`.
package version

import (
	"context"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/cli/cmdutil"
)

// Options are `version`'s.
type Options struct {
	Factory *cmdutil.Factory
	// Version is this binary's version.
	Version string
}

// NewCmdVersion is `version`; runF, when not nil, replaces the run.
func NewCmdVersion(f *cmdutil.Factory, version string, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f, Version: version}
	return &cobra.Command{
		Use:     "version",
		Example: "  tenantctl version\n  tenantctl version -o json",
		Short:   "Print the version",
		Args:    cmdutil.NoArgs,
		RunE:    cmdutil.RunE(opts, runF, run, nil),
	}
}

func run(_ context.Context, opts *Options) error {
	f := opts.Factory
	if f.JSONOutput() {
		return f.PrintJSON(map[string]string{"version": opts.Version, "go": runtime.Version()})
	}
	fmt.Fprintf(f.IO.Out, "tenantctl %s (%s)\n", opts.Version, runtime.Version())
	return nil
}
