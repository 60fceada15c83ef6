package cmdutil

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// RunE is the RunE of a command built the usual way (an options struct, NewCmdX(f, runF),
// a run function): it calls prepare, when not nil, with the command and its positional
// arguments — the flags → options step that needs them (copy the arguments, check what
// the flags alone cannot) — then runF with the options, or run when runF is nil. Tests
// pass a runF that captures the options and stop there, with no catalog.
func RunE[O any](opts *O, runF, run func(context.Context, *O) error, prepare func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	if runF == nil {
		runF = run
	}
	return func(cmd *cobra.Command, args []string) error {
		if prepare != nil {
			if err := prepare(cmd, args); err != nil {
				return err
			}
		}
		return runF(cmd.Context(), opts)
	}
}

// Args is a prepare step for [RunE] that copies the positional arguments, in order, into
// dst (the command's Args has checked how many there are).
func Args(dst ...*string) func(*cobra.Command, []string) error {
	return func(_ *cobra.Command, args []string) error {
		for i, d := range dst {
			if i < len(args) {
				*d = args[i]
			}
		}
		return nil
	}
}

// WithStore runs fn with the environment's catalog store.
func (f *Factory) WithStore(ctx context.Context, fn func(store *catalog.Store) error) error {
	store, err := f.Store(ctx)
	if err != nil {
		return err
	}
	return fn(store)
}

// CheckTenant refuses a slug the catalog does not know (catalog.ErrTenantNotFound), before
// a command that takes --tenant does anything; "" (every tenant) passes.
func CheckTenant(ctx context.Context, store *catalog.Store, slug string) error {
	if slug == "" {
		return nil
	}
	_, err := store.GetTenant(ctx, slug)
	return err
}

// PrintResult prints v as -o json or yaml asks, else the sentence format and args make
// (no newline is added).
func (f *Factory) PrintResult(v any, format string, args ...any) error {
	if f.Structured() {
		return f.PrintStructured(v)
	}
	fmt.Fprintf(f.IO.Out, format, args...)
	return nil
}

// PrintList prints rows as -o asks: json or yaml of rows as they are, else a table with
// header, one line a row with the cells row gives.
func PrintList[T any](f *Factory, rows []T, header []string, row func(T) []any) error {
	if f.Structured() {
		return f.PrintStructured(rows)
	}
	tw := f.Table(header...)
	for _, r := range rows {
		Row(tw, row(r)...)
	}
	return tw.Flush()
}

// LocalTime renders a time for a table cell: local, to the second.
func LocalTime(t time.Time) string { return t.Local().Format(time.DateTime) }

// LocalTimeOr is [LocalTime] of *t, or none when t is nil.
func LocalTimeOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return LocalTime(*t)
}

// Millis rounds a duration to the millisecond, as every command prints them.
func Millis(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// FleetFlags declares --tenant, --concurrency and --per-server onto a fleet operation's
// options, with the operation's defaults and its own words for each flag.
func FleetFlags(fl *pflag.FlagSet, o *fleet.Options, d fleet.Limits, tenant, concurrency, perServer string) {
	fl.StringVar(&o.Tenant, "tenant", "", tenant)
	fl.IntVar(&o.Concurrency, "concurrency", d.Total, concurrency)
	fl.IntVar(&o.PerServer, "per-server", d.PerServer, perServer)
}

// KeepSource is a --keep-source flag's value as the movers take it: nil when the flag was
// not given (the library's default), else the duration it names.
func KeepSource(cmd *cobra.Command, value string) (*time.Duration, error) {
	if !cmd.Flags().Changed("keep-source") {
		return nil, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		return nil, validate.Errorf("invalid --keep-source %q: give a duration such as 24h, 30m or 0", value)
	}
	return &d, nil
}
