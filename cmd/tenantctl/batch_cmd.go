package main

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/internal/cmd/cmdutil"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
)

// createBatch runs `tenant create --from-file`. Flags given for one tenant (--name,
// --domain, ...) make no sense for a file and are refused.
func (a *app) createBatch(cmd *cobra.Command, o provisioner.CreateOptions, file string, concurrency int) error {
	for _, f := range []string{"name", "domain", "server", "label", "contact-email", "from-dump"} {
		if cmd.Flags().Changed(f) {
			return validate.Errorf("--%s applies to one tenant; with --from-file put it in the file's columns", f)
		}
	}
	if concurrency < 1 || concurrency > 64 {
		return validate.Errorf("invalid --concurrency %d: use 1 to 64", concurrency)
	}
	r := a.IO.In
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return validate.Errorf("read batch file: %v", err)
		}
		defer f.Close()
		r = f
	}
	rows, err := provisioner.ParseBatch(r)
	if err != nil {
		return err
	}
	for i := range rows {
		rows[i].Options.SlowPath = o.SlowPath
	}
	p, done, err := a.Provisioner(cmd.Context())
	if err != nil {
		return err
	}
	defer done()
	prog := a.Progress(len(rows), "tenant create")
	var mu sync.Mutex
	results, err := p.CreateBatch(cmd.Context(), rows, concurrency, func(r provisioner.BatchResult) {
		mu.Lock()
		defer mu.Unlock()
		var rerr error
		if !r.OK {
			rerr = errors.New(r.Error)
		}
		prog.Done(r.Slug, rerr)
	})
	prog.Close()
	var be *provisioner.BatchError
	if err != nil && !errors.As(err, &be) {
		return err
	}
	if a.JSONOutput() {
		if jerr := a.PrintJSON(results); jerr != nil {
			return jerr
		}
	} else {
		tw := a.Table("LINE", "SLUG", "RESULT", "SERVER", "DATABASE")
		for _, r := range results {
			if r.OK {
				cmdutil.Row(tw, r.Line, r.Slug, "created", r.Tenant.Server, r.Tenant.Database)
			} else {
				cmdutil.Row(tw, r.Line, r.Slug, "FAILED: "+cmdutil.OneLine(r.Error), "-", "-")
			}
		}
		if ferr := tw.Flush(); ferr != nil {
			return ferr
		}
		fmt.Fprintf(a.IO.Out, "%d of %d tenants created\n", len(results)-failedCount(be), len(results))
	}
	if be != nil {
		return be // exit 1, naming the failed lines
	}
	return nil
}

func failedCount(be *provisioner.BatchError) int {
	if be == nil {
		return 0
	}
	return len(be.Failed)
}
