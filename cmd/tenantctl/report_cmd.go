package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/cmd/cmdutil"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/report"
)

func (a *app) reportCmd() *cobra.Command {
	var slug, format, out, outDir, specPath string
	var all bool
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := report.CheckFormat(format); err != nil {
				return err
			}
			switch {
			case all && slug != "":
				return validate.Errorf("give --tenant SLUG or --all, not both")
			case all && outDir == "":
				return validate.Errorf("--all needs --out-dir DIR (one file per customer)")
			case !all && slug == "":
				return validate.Errorf("give --tenant SLUG (or --all --out-dir DIR)")
			case !all && outDir != "":
				return validate.Errorf("--out-dir goes with --all; use --out FILE for one customer")
			}
			if slug != "" {
				if err := validate.Slug(slug); err != nil {
					return err
				}
			}
			spec, err := a.reportSpec(cmd, specPath)
			if err != nil {
				return err
			}
			store, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			ctx := cmd.Context()
			if all {
				// The same job the scheduler runs, recorded in the job history.
				n, err := jobs.Report.Run(ctx, store, cmdutil.Hostname(), jobs.ReportOptions{Store: store, Spec: spec, Dir: outDir, Format: format})
				fmt.Fprintf(a.IO.Out, "%d report(s) written to %s\n", n, outDir)
				return err
			}
			dsn, err := store.WarehouseDSN(ctx)
			if err != nil {
				return err
			}
			wh, err := dbconn.Pool(ctx, dsn, 2)
			if err != nil {
				return err
			}
			defer wh.Close()
			t, err := store.GetTenant(ctx, slug)
			if err != nil {
				return err
			}
			r, err := report.Build(ctx, wh, spec, reportTenant(t))
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				return report.Render(a.IO.Out, r, format)
			}
			if err := report.WriteFile(out, r, format); err != nil {
				return err
			}
			fmt.Fprintf(a.IO.Out, "report for %s written to %s\n", slug, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&slug, "tenant", "", "the customer")
	f.BoolVar(&all, "all", false, "every active or suspended customer, one file each (with --out-dir)")
	f.StringVar(&format, "format", "md", "md, html, csv or json")
	f.StringVar(&out, "out", "", "write to FILE instead of stdout")
	f.StringVar(&outDir, "out-dir", "", "directory for --all")
	f.StringVar(&specPath, "report-spec", "", "report spec YAML (env TENANTCTL_REPORT_SPEC; default: embedded)")
	return cmd
}

func reportTenant(t catalog.Tenant) report.Tenant {
	return report.Tenant{ID: t.ID, Slug: t.Slug, Name: t.Name, Domain: t.Domain}
}
