// Package report is `tenantctl report`: per-customer reports from the warehouse.
package report

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/jobs"
	reportlib "github.com/tenantctl/tenantctl/report"
)

// Options are `report`'s.
type Options struct {
	Factory *cmdutil.Factory
	// Tenant is one customer; All every active or suspended one, into OutDir.
	Tenant string
	All    bool
	Format string
	// Out is the file for one customer ("" or "-" for stdout).
	Out    string
	OutDir string
	// SpecPath is the report spec (--report-spec, TENANTCTL_REPORT_SPEC; "" for the
	// embedded one).
	SpecPath string
}

// NewCmdReport is `report`; runF, when not nil, replaces the run.
func NewCmdReport(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	var specFlag string
	cmd := &cobra.Command{
		Use:   "report --tenant SLUG [--format md|html|csv|json] [--out FILE] | report --all --out-dir DIR",
		Short: "Per-customer reports from the warehouse: one customer's figures, for that customer",
		Long: `Build a customer's report from the warehouse: the named queries of the report spec,
each run with the customer's tenant id bound as $1, so the report holds that customer's
rows only. The embedded default (for the default tenant schema) has incidents opened and
closed per week, open incidents by priority, SLA breaches, users and systems.

Point at your own spec with --report-spec or TENANTCTL_REPORT_SPEC (YAML: title, and
queries with name, title and sql). A query that does not bind $1 is refused when the
spec loads (exit 2).

--all writes one file per active or suspended customer into --out-dir (a file share
the customers' account managers read); the scheduler's report job does the same on a
schedule (--report-schedule, --report-dir).`,
		Example: `  tenantctl report --tenant acme                       # Markdown on stdout
  tenantctl report --tenant acme --format html --out acme.html
  tenantctl report --all --out-dir /srv/reports --format csv`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, run, func(cmd *cobra.Command, _ []string) error {
			if err := reportlib.CheckFormat(opts.Format); err != nil {
				return err
			}
			switch {
			case opts.All && opts.Tenant != "":
				return validate.Errorf("give --tenant SLUG or --all, not both")
			case opts.All && opts.OutDir == "":
				return validate.Errorf("--all needs --out-dir DIR (one file per customer)")
			case !opts.All && opts.Tenant == "":
				return validate.Errorf("give --tenant SLUG (or --all --out-dir DIR)")
			case !opts.All && opts.OutDir != "":
				return validate.Errorf("--out-dir goes with --all; use --out FILE for one customer")
			}
			if err := cmdutil.IfGiven(validate.Slug, opts.Tenant); err != nil {
				return err
			}
			opts.SpecPath = f.ReportSpecPath(cmd, specFlag)
			return nil
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Tenant, "tenant", "", "the customer")
	fl.BoolVar(&opts.All, "all", false, "every active or suspended customer, one file each (with --out-dir)")
	fl.StringVar(&opts.Format, "format", "md", "md, html, csv or json")
	fl.StringVar(&opts.Out, "out", "", "write to FILE instead of stdout")
	fl.StringVar(&opts.OutDir, "out-dir", "", "directory for --all")
	fl.StringVar(&specFlag, "report-spec", "", "report spec YAML (env TENANTCTL_REPORT_SPEC; default: embedded)")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	f := opts.Factory
	spec, err := reportlib.LoadSpec(opts.SpecPath)
	if err != nil {
		return err
	}
	env, err := f.Env(ctx)
	if err != nil {
		return err
	}
	store := env.Store
	if opts.All {
		// The same job the scheduler runs, recorded in the job history.
		n, err := jobs.Report.Run(ctx, env, jobs.ReportOptions{Store: store, Warehouse: env.Warehouse, Spec: spec, Dir: opts.OutDir, Format: opts.Format})
		fmt.Fprintf(f.IO.Out, "%d report(s) written to %s\n", n, opts.OutDir)
		return err
	}
	wh, err := env.Warehouse.Pool(ctx)
	if err != nil {
		return err
	}
	t, err := store.GetTenant(ctx, opts.Tenant)
	if err != nil {
		return err
	}
	r, err := reportlib.Build(ctx, wh, spec, Tenant(t))
	if err != nil {
		return err
	}
	if opts.Out == "" || opts.Out == "-" {
		return reportlib.Render(f.IO.Out, r, opts.Format)
	}
	if err := reportlib.WriteFile(opts.Out, r, opts.Format); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "report for %s written to %s\n", opts.Tenant, opts.Out)
	return nil
}

// Tenant is the report's view of a catalog tenant.
func Tenant(t catalog.Tenant) reportlib.Tenant {
	return reportlib.Tenant{ID: t.ID, Slug: t.Slug, Name: t.Name, Domain: t.Domain}
}
