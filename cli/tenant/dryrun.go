package tenant

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
)

// printPlans shows what a delete or purge would do (--dry-run).
func printPlans(f *cmdutil.Factory, verb string, plans []provisioner.Plan) error {
	if f.Structured() {
		return f.PrintStructured(plans)
	}
	if len(plans) == 0 {
		fmt.Fprintf(f.IO.Out, "dry run: no tenant would be %s\n", verb)
		return nil
	}
	for _, pl := range plans {
		fmt.Fprintf(f.IO.Out, "dry run: tenant %s (%s on %s, %s) would be %s:\n", pl.Slug, pl.Database, pl.Server, pl.State, verb)
		for _, act := range pl.Actions {
			fmt.Fprintf(f.IO.Out, "  - %s\n", act)
		}
	}
	fmt.Fprintln(f.IO.Out, "nothing was changed")
	return nil
}

// confirmPurge asks before purging expired tenants: on a terminal it asks, elsewhere it
// insists on --yes, since a script that purges by accident destroys customer data.
func confirmPurge(f *cmdutil.Factory, slugs []string, yes bool) error {
	if yes || len(slugs) == 0 {
		return nil
	}
	in, ok := f.IO.In.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return validate.Errorf("refusing to purge %d expired tenant(s) (%s) without confirmation: pass --yes (see them first with --dry-run)",
			len(slugs), strings.Join(slugs, ", "))
	}
	fmt.Fprintf(f.IO.ErrOut, "Purge %d expired tenant(s) for good — %s? [y/N] ", len(slugs), strings.Join(slugs, ", "))
	answer, _ := bufio.NewReader(f.IO.In).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return validate.Errorf("purge not confirmed: nothing was changed")
	}
	return nil
}
