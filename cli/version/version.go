// Package version is `tenantctl version`.
package version

import (
	"context"
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
	return f.PrintResult(map[string]string{"version": opts.Version, "go": runtime.Version()},
		"tenantctl %s (%s)\n", opts.Version, runtime.Version())
}
