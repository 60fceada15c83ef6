// Package audit is `tenantctl audit`: prove tenant isolation from the servers' actual
// state, and list past runs.
package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	auditlib "github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/progress"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/jobs"
)

// Options are `audit`'s: the library's options as the flags give them, and where the
// report goes.
type Options struct {
	Factory *cmdutil.Factory
	Audit   auditlib.Options
	// Out is the file the report is written to ("" for stdout).
	Out string
}

// NewCmdAudit is `audit`; runF, when not nil, replaces the run (tests check the flags →
// options layer with it, without a catalog).
func NewCmdAudit(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	// --probe-sample 0 says none, as the library reads it with ZeroIsNone.
	opts := &Options{Factory: f, Audit: auditlib.Options{ZeroIsNone: true}}
	o := &opts.Audit
	cmd := &cobra.Command{
		Use:   "audit [--tenant SLUG] [-o text|json|yaml|markdown] [--out FILE] [--no-probes]",
		Short: "Prove tenant isolation: configuration checks, live cross-tenant probes, drift",
		Long: `Audit that no customer can reach another customer's data or learn who the other
customers are, from the servers' actual state:

  - every tenant database exists on the server the catalog names, is owned by the
    tenant's owner role (and so are its objects), holds nothing for PUBLIC, and can be
    reached only by the tenant's own roles, the server's admin role and granted MSP
    access (directly or through role membership);
  - tenant roles have no dangerous attribute and no membership in other tenants' roles
    or in predefined roles that read across databases;
  - no dblink, postgres_fdw, file_fdw, foreign server or user mapping in a tenant database;
  - no database or role name or comment on any server reveals a customer;
  - no tenant role can connect to the warehouse, and PUBLIC holds nothing on it;
  - no orphan t_... databases or roles, no tenant roles missing;
  - every database on every server (postgres, template1, copies, anything tenantctl did
    not create) holds no bridge, and no tenant's roles own or hold anything outside
    their own database (pg_shdepend: copies are found by what they hold, not by name);
  - inside tenant databases nobody holds more than tenantctl grants (tables, sequences,
    functions, schemas, default privileges, the database), and there is no
    publication, subscription, event trigger, rule, SECURITY DEFINER function or
    setting; the database accepts connections and is no template; templates and the
    warehouse's schemas and tables hold nothing for others;
  - the system schemas of every tenant database hold nothing initdb did not make
    (db.system_objects), keep initdb's access lists on system functions and catalogs
    (db.system_acl: EXECUTE on pg_read_binary_file and the like), and no function is
    declared in LANGUAGE internal or c outside an extension (db.native_functions);
    each such door is also reported under every tenant of the server it exposes;
  - a bridge (foreign server, user mapping, dblink view, subscription) is reported
    where it lives and under the tenant it reaches (db.bridge_target); logical slots on
    tenant databases (db.replication_slot), large objects shared beyond the tenant's
    roles (db.large_objects) and tablespaces open to PUBLIC or tenant roles
    (server.tablespaces; their names are held to names.opaque) are reported;
  - finished templates are closed and, when found open, fingerprint as recorded when
    they were built (template.closed); every clone is checked the same way before use;
  - the app role alone may run the customer's functions; a SECURITY DEFINER function
    owned by the tenant's own owner is a note, owned by anyone else a violation;
  - MSP access roles, the admin role and tenantctl's shared roles (tenantctl_logins,
    tenantctl_template_owner: role.shared) reach no further than they should, and every
    login belongs to the groups the 'tenantctl server hba' lines confine it with;
  - each server's effective pg_hba.conf rules (server.hba, read from pg_hba_file_rules,
    which a superuser grants the admin role) hold those lines first and let no login in
    without its password; rules the admin may not read are "unverified" (exit 1);
  - every database that accepts connections is a tenant's, tenantctl's, postgres,
    template1 or declared with 'server set --allow-database' (server.databases);
  - live probes (unless --no-probes): each active tenant's own credentials log in to its
    own database and are refused by its server neighbours (up to --probe-neighbours), a
    sample of databases on other servers, the server's postgres (and, for two tenants
    per server, template1) and the warehouse; per server, a wrong password is refused
    for a tenant, an MSP access role, the admin and the superusers
    (probe.wrong_password), and one tenant's credentials by every other connectable
    database (probe.other_database).

The audit only reads (every session it opens is read-only); 'tenantctl reconcile'
fixes drift. Each run is recorded in the catalog with the SHA-256 of its JSON report
(see 'tenantctl audit history') and says what changed since the previous run.

Output (-o): text, json, yaml or markdown (the report to file as evidence).

Exit status: 0 every check passed; 3 violations were found; 1 the audit could not run
(a server or the catalog unreachable, or only probes that proved nothing or rules it may
not read…); 2 bad usage.`,
		Example: `  tenantctl audit
  tenantctl audit -o markdown --out audit-2026-q2.md
  tenantctl audit --tenant acme -o json --no-probes
  tenantctl audit -o json | jq '.violations[] | select(.check == "db.bridge_target")'`,
		Args:        cmdutil.NoArgs,
		Annotations: map[string]string{cmdutil.AnnotOutputs: cmdutil.OutputMarkdown},
		RunE: cmdutil.RunE(opts, runF, runAudit, func(cmd *cobra.Command, _ []string) error {
			// The fleet knobs by the library's one rule (the flags carry its defaults).
			if err := o.Options.Validate(); err != nil {
				return err
			}
			if o.ConnectTimeout <= 0 {
				return validate.Errorf("--connect-timeout must be positive")
			}
			if o.ProbeNeighbours == 0 || o.ProbeNeighbours < -1 {
				return validate.Errorf("--probe-neighbours must be at least 1, or -1 for all of them")
			}
			return nil
		}),
	}
	fl := cmd.Flags()
	cmdutil.FleetFlags(fl, &o.Options, fleet.Limits{Total: auditlib.DefaultConcurrency, PerServer: auditlib.DefaultPerServer},
		"audit only this tenant (fleet-wide drift checks are skipped)", "connections open at once across the fleet", "connections open at once on one server")
	fl.BoolVar(&o.NoProbes, "no-probes", false, "skip the live login probes")
	fl.StringVar(&opts.Out, "out", "", "write the report to FILE instead of stdout (the verdict still goes to stderr)")
	fl.IntVar(&o.ProbeNeighbours, "probe-neighbours", auditlib.DefaultProbeNeighbours, "same-server tenant databases each tenant is probed against (-1: all)")
	fl.IntVar(&o.ProbeSample, "probe-sample", auditlib.DefaultProbeSample, "tenant databases on other servers each tenant is probed against (0: none)")
	fl.DurationVar(&o.ConnectTimeout, "connect-timeout", auditlib.DefaultConnectTimeout, "give up on a connection attempt after this long")
	cmd.AddCommand(NewCmdHistory(f, nil))
	return cmd
}

func runAudit(ctx context.Context, opts *Options) error {
	f, o, out := opts.Factory, opts.Audit, opts.Out
	env, err := f.Env(ctx)
	if err != nil {
		return err
	}
	if err := cmdutil.CheckTenant(ctx, env.Store, o.Tenant); err != nil {
		return err
	}
	o.Store, o.Servers, o.Node, o.Log = env.Store, env.Servers, env.Node, f.Log
	o.Progress = func(total int) progress.Reporter { return f.Progress(total, "audit") }
	report, err := jobs.Audit.Run(ctx, env, o)
	if err != nil && !errors.Is(err, auditlib.ErrViolations) {
		return err
	}
	format := f.Flags.Output
	var buf bytes.Buffer
	if format == cmdutil.OutputYAML {
		var js bytes.Buffer
		if err := auditlib.Render(&js, report, cmdutil.OutputJSON); err != nil {
			return err
		}
		if err := cmdutil.JSONToYAML(&buf, js.Bytes()); err != nil {
			return err
		}
	} else if err := auditlib.Render(&buf, report, format); err != nil {
		return err
	}
	if out != "" {
		if err := os.WriteFile(out, buf.Bytes(), 0o640); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		fmt.Fprintf(f.IO.ErrOut, "Isolation audit %s; report written to %s (run #%d)\n", verdictLine(report), out, report.RunID)
	} else if _, err := f.IO.Out.Write(buf.Bytes()); err != nil {
		return err
	}
	if !report.Passed {
		return &cmdutil.CodeError{Code: ExitCode(report), Err: cmdutil.ErrSilent}
	}
	return nil
}

func verdictLine(r auditlib.Report) string {
	if r.Passed {
		return fmt.Sprintf("PASSED (%d tenants, %d checks)", r.Tenants, r.Checks)
	}
	return fmt.Sprintf("FAILED: %d violations (%d tenants, %d checks)", len(r.Violations), r.Tenants, r.Checks)
}

// HistoryOptions are `audit history`'s.
type HistoryOptions struct {
	Factory *cmdutil.Factory
	Limit   int
}

// NewCmdHistory is `audit history`; runF, when not nil, replaces the run.
func NewCmdHistory(f *cmdutil.Factory, runF func(context.Context, *HistoryOptions) error) *cobra.Command {
	opts := &HistoryOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "history [--limit N]",
		Example: "  tenantctl audit history\n  tenantctl audit history --limit 5 -o json",
		Short:   "List past audit runs with their result, changes and report hash",
		Args:    cmdutil.NoArgs,
		RunE:    cmdutil.RunE(opts, runF, runHistory, nil),
	}
	cmdutil.LimitFlag(cmd.Flags(), &opts.Limit, 20, "runs")
	return cmd
}

func runHistory(ctx context.Context, opts *HistoryOptions) error {
	runs := func(store *catalog.Store) ([]auditlib.HistoryRun, error) {
		return auditlib.History(ctx, store, opts.Limit)
	}
	return cmdutil.ListFromStore(ctx, opts.Factory, runs, []string{"ID", "STARTED", "DURATION", "SCOPE", "PROBES", "RESULT", "TENANTS", "CHECKS", "VIOLATIONS", "CHANGES", "REPORT SHA-256", "NODE"}, historyRow)
}

// historyRow is one past run in `audit history`'s table.
func historyRow(h auditlib.HistoryRun) []any {
	result := "passed"
	if !h.Passed {
		result = "FAILED"
	}
	scope := "fleet"
	if h.Scope != "" {
		scope = h.Scope
	}
	changes := "-"
	if h.PreviousRun > 0 {
		changes = fmt.Sprintf("+%d -%d", h.New, h.Resolved)
	}
	probes := "on"
	if !h.Probes {
		probes = "off"
	}
	return []any{h.ID, cmdutil.LocalTime(h.StartedAt), cmdutil.Millis(h.FinishedAt.Sub(h.StartedAt)), scope, probes,
		result, h.Tenants, h.Checks, h.Violations, changes, h.ReportSHA256[:16] + "…", h.Node}
}

// ExitCode is 1 when the audit could not reach a server, or when all it has are
// findings that prove nothing — checks a server did not answer, probes that could not
// log in or be refused (a server stopped answering mid-run), rules the admin may not
// read (server.hba "unverified"): its verdict is incomplete,
// though every finding is still reported. Else 3: violations proved.
func ExitCode(r auditlib.Report) int {
	proven, incomplete := false, r.Probes.Inconclusive > 0
	for _, v := range r.Violations {
		switch {
		case v.Check == auditlib.CheckServerReachable:
			return cmdutil.ExitFailure
		case v.Unanswered, v.Unverified:
			incomplete = true
		case strings.HasPrefix(v.Check, "probe.") && v.Severity == auditlib.Medium:
			// Inconclusive probes are the only medium-severity probe findings.
		default:
			proven = true
		}
	}
	if !proven && incomplete {
		return cmdutil.ExitFailure
	}
	return cmdutil.ExitViolations
}
