// Package cmdutil is what every tenantctl command is built from: one Factory that gives,
// lazily, the IO streams, the resolved settings (flags, environment, config file), the
// process's runtime environment (fleetenv: the catalog store, the provisioner and the
// mover, the caches they share), the logger, progress reporting and the output printers
// (-o text, json, yaml, markdown where a command offers it); the exit statuses; and the
// hints that name the flag or command fixing a library error. Commands (packages under
// cli/) take a *Factory and never touch os.Stdout or os.Getenv, so their tests
// run them with buffers and a fake environment, and their flags → options layer with no
// PostgreSQL at all.
package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/internal/progress"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/mover"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/rollup"
	"github.com/tenantctl/tenantctl/secret"
)

// Exit statuses.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
	// ExitViolations: the audit ran and found violations (1 is an audit that could not run).
	ExitViolations = 3
)

// IOStreams are a command's standard streams.
type IOStreams struct {
	In          io.Reader
	Out, ErrOut io.Writer
	// ErrTerminal is true when stderr is a terminal: fleet operations then draw a
	// progress bar instead of logging a line per tenant.
	ErrTerminal bool
}

// GlobalFlags are the root command's persistent flags, as given on the command line.
type GlobalFlags struct {
	Catalog, SecretKeyFile, TenantMigrations, RollupSpec, Config, Context string
	LogLevel, LogFormat, Output                                           string
	NoHeaders                                                             bool
}

// Factory holds what every command needs: its streams, the environment and the resolved
// global settings; it builds the process's runtime environment ([Factory.Env]) on a
// command's first need, and [Factory.Close] stops it.
type Factory struct {
	IO     IOStreams
	Getenv func(string) string
	Flags  GlobalFlags

	// File is the config file's settings for the selected context.
	File config.File
	// ConfigRead is the config file that was read ("" when none was found).
	ConfigRead string
	// ConfigSource says how ConfigRead was found: "explicit", "project" or "user".
	ConfigSource string
	// RawFile is the config file as read, before its context was selected.
	RawFile config.File
	// Log is the logger, set by Setup.
	Log hclog.Logger
	// Ran is set once a command's own code starts: errors before it are usage errors.
	Ran bool
	// Root is the root command, whose persistent flags carry Flags.
	Root *cobra.Command

	// env is the process's runtime environment, once a command asked for it; migErr is
	// why its tenant migrations could not be read (commands that need only the catalog
	// run regardless, as they always did).
	env    *fleetenv.Env
	migErr error
}

// New returns a factory over the given streams and environment; stderr is scrubbed of
// secrets.
func New(in io.Reader, out, errOut io.Writer, getenv func(string) string) *Factory {
	f := &Factory{IO: IOStreams{In: in, Out: out, ErrOut: secret.ScrubWriter(errOut)}, Getenv: getenv}
	if file, ok := errOut.(*os.File); ok {
		f.IO.ErrTerminal = term.IsTerminal(int(file.Fd()))
	}
	return f
}

// NewTest returns a factory for flags → options tests: empty streams and environment.
func NewTest() *Factory {
	return New(strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" })
}

// BindGlobalFlags declares the global flags on the root's persistent flag set.
func (f *Factory) BindGlobalFlags(pf *pflag.FlagSet) {
	pf.StringVar(&f.Flags.Catalog, "catalog", "", "catalog database DSN (env TENANTCTL_CATALOG_DSN)")
	pf.StringVar(&f.Flags.SecretKeyFile, "secret-key-file", "", "file holding the base64 32-byte key that encrypts credentials (env TENANTCTL_SECRET_KEY_FILE; or TENANTCTL_SECRET_KEY inline)")
	pf.StringVar(&f.Flags.TenantMigrations, "tenant-migrations", "", "directory of goose SQL migrations for tenant databases (env TENANTCTL_TENANT_MIGRATIONS; default: embedded)")
	pf.StringVar(&f.Flags.RollupSpec, "rollup-spec", "", "rollup spec YAML file (env TENANTCTL_ROLLUP_SPEC; default: embedded)")
	pf.StringVar(&f.Flags.Config, "config", "", "config file (env TENANTCTL_CONFIG; default: .tenantctl/config.yaml here or in a parent directory, else ~/.config/tenantctl/config.yaml)")
	pf.StringVar(&f.Flags.Context, "context", "", "named context of the config file to use (env TENANTCTL_CONTEXT; default: its current_context)")
	pf.StringVar(&f.Flags.LogLevel, "log-level", "", "log level: trace, debug, info, warn, error (env TENANTCTL_LOG_LEVEL; default info)")
	pf.StringVar(&f.Flags.LogFormat, "log-format", "", "log format: text or json (env TENANTCTL_LOG_FORMAT; default text)")
	pf.StringVarP(&f.Flags.Output, "output", "o", "text", "output format: text, json or yaml (markdown too where a command says so)")
	pf.BoolVar(&f.Flags.NoHeaders, "no-headers", false, "omit the header line of text tables")
}

// ErrSilent is returned by commands that already reported their outcome (an audit with
// violations, a fleet run with failures) and only need the exit status.
var ErrSilent = errors.New("")

// CodeError carries an explicit exit status.
type CodeError struct {
	Code int
	Err  error
}

func (e *CodeError) Error() string { return e.Err.Error() }
func (e *CodeError) Unwrap() error { return e.Err }

// ExitCode is the exit status for a command's error: 2 for bad usage or input (anything
// refused before the command's own code ran), the CodeError's status, else 1.
func (f *Factory) ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	code := ExitFailure
	if !f.Ran || errors.Is(err, validate.ErrInvalid) || errors.Is(err, secret.ErrNoKey) || errors.Is(err, secret.ErrWrongKey) {
		code = ExitUsage
	}
	var ce *CodeError
	if errors.As(err, &ce) {
		code = ce.Code
	}
	return code
}

// Setup resolves global settings and the logger before any command runs.
func (f *Factory) Setup(cmd *cobra.Command, _ []string) error {
	file, err := f.LoadConfig(cmd)
	if err != nil {
		return err
	}
	f.File = file
	level := f.Setting(cmd, "log-level", f.Flags.LogLevel, "TENANTCTL_LOG_LEVEL", file.LogLevel, "info")
	format := f.Setting(cmd, "log-format", f.Flags.LogFormat, "TENANTCTL_LOG_FORMAT", file.LogFormat, "text")
	if hclog.LevelFromString(level) == hclog.NoLevel {
		return validate.Errorf("invalid --log-level %q: use trace, debug, info, warn or error", level)
	}
	if format != "text" && format != "json" {
		return validate.Errorf("invalid --log-format %q: use text or json", format)
	}
	f.Log = hclog.New(&hclog.LoggerOptions{
		Name: "tenantctl", Level: hclog.LevelFromString(level), Output: f.IO.ErrOut, JSONFormat: format == "json",
	})
	if err := CheckOutput(cmd, f.Flags.Output); err != nil {
		return err
	}
	f.Ran = true
	return f.CheckNames(cmd)
}

// Setting resolves one setting: the flag when given, else the environment, else the
// config file, else def.
func (f *Factory) Setting(cmd *cobra.Command, flag, flagValue, env, fileValue, def string) string {
	return config.Resolve(cmd.Flags().Changed(flag), flagValue, f.Getenv(env), fileValue, def)
}

// CatalogDSN is the catalog's connection string ("" when none is configured).
func (f *Factory) CatalogDSN() string {
	return f.Setting(f.Root, "catalog", f.Flags.Catalog, "TENANTCTL_CATALOG_DSN", f.File.Catalog, "")
}

// TenantMigrations are the tenant schema's migrations: the configured directory, else
// the embedded ones.
func (f *Factory) TenantMigrations() (fs.FS, error) {
	dir := f.Setting(f.Root, "tenant-migrations", f.Flags.TenantMigrations, "TENANTCTL_TENANT_MIGRATIONS", f.File.TenantMigrations, "")
	if dir == "" {
		return migrations.Tenant(), nil
	}
	return migrations.Dir(dir)
}

// RollupSpecPath is the configured rollup spec file ("" for the embedded one).
func (f *Factory) RollupSpecPath() string {
	return f.Setting(f.Root, "rollup-spec", f.Flags.RollupSpec, "TENANTCTL_ROLLUP_SPEC", f.File.RollupSpec, "")
}

// EnvOptions are the runtime environment's options from the resolved settings: the
// catalog opened with the secret key, the tenant migrations, the rollup spec, the report
// spec of TENANTCTL_REPORT_SPEC, this host as the node, and the logger. `serve` and the
// scheduler change what their own flags set before building theirs.
func (f *Factory) EnvOptions() (fleetenv.Options, error) {
	fsys, err := f.TenantMigrations()
	if err != nil {
		return fleetenv.Options{}, err
	}
	return f.envOptions(fsys), nil
}

// envOptions are the environment's options over the tenant migrations fsys (nil: the
// embedded ones).
func (f *Factory) envOptions(fsys fs.FS) fleetenv.Options {
	return fleetenv.Options{
		Open: func(ctx context.Context) (*catalog.Store, error) {
			box, err := f.Box()
			if err != nil {
				return nil, err
			}
			return f.OpenStore(ctx, box)
		},
		TenantMigrations: fsys,
		RollupSpecPath:   f.RollupSpecPath(),
		ReportSpecPath:   f.Getenv("TENANTCTL_REPORT_SPEC"),
		Log:              f.Log,
	}
}

// Env returns the process's runtime environment, built and started on the first call
// (a failed start is tried again at the next); [Factory.Close] stops it. What it holds
// belongs to it: commands never close its store. A tenant migrations setting that
// cannot be read is an error here, after the catalog is opened.
func (f *Factory) Env(ctx context.Context) (*fleetenv.Env, error) {
	env, err := f.startEnv(ctx)
	if err != nil {
		return nil, err
	}
	if f.migErr != nil {
		return nil, f.migErr
	}
	return env, nil
}

// startEnv builds the environment on first use and starts it. Its migrations are the
// embedded ones when the setting cannot be read: [Factory.Env] refuses it then, and
// [Factory.Store] gives only its catalog.
func (f *Factory) startEnv(ctx context.Context) (*fleetenv.Env, error) {
	if f.env == nil {
		o, err := f.EnvOptions()
		if err != nil {
			f.migErr = err
			o = f.envOptions(nil)
		}
		f.env = fleetenv.New(o)
	}
	if f.env.Store == nil {
		if err := f.env.Start(ctx); err != nil {
			return nil, err
		}
	}
	return f.env, nil
}

// Close stops the runtime environment when a command started one.
func (f *Factory) Close() {
	if f.env != nil {
		f.env.Stop()
	}
}

// Store is the environment's catalog (opened with the secret key when one is
// configured); the environment closes it.
func (f *Factory) Store(ctx context.Context) (*catalog.Store, error) {
	env, err := f.startEnv(ctx)
	if err != nil {
		return nil, err
	}
	return env.Store, nil
}

// OpenStore opens the catalog with box (nil: without a key, for the commands that
// handle the key itself), acting as TENANTCTL_ACTOR when it is set.
func (f *Factory) OpenStore(ctx context.Context, box *secret.Box) (*catalog.Store, error) {
	store, err := catalog.Open(ctx, f.CatalogDSN(), box)
	if err != nil {
		return nil, err
	}
	if actor := f.Getenv("TENANTCTL_ACTOR"); actor != "" {
		store.Actor = actor
	}
	return store, nil
}

// WithProvisioner runs fn with the environment's provisioner.
func (f *Factory) WithProvisioner(ctx context.Context, fn func(p *provisioner.Provisioner) error) error {
	env, err := f.Env(ctx)
	if err != nil {
		return err
	}
	return fn(env.Provisioner)
}

// Action is what a command that takes one name and nothing else does to it (tenant
// suspend, server drain, ...): the shape of a provisioner method's expression, such as
// (*provisioner.Provisioner).Suspend.
type Action func(p *provisioner.Provisioner, ctx context.Context, name string) error

// RunAction runs do on name with a provisioner and says "KIND NAME: ACTION done".
func (f *Factory) RunAction(ctx context.Context, kind, name, action string, do Action) error {
	if err := f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error { return do(p, ctx, name) }); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "%s %s: %s done\n", kind, name, action)
	return nil
}

// RollupSpec is the rollup spec: the configured file, else the embedded one.
func (f *Factory) RollupSpec() (rollup.Spec, error) { return rollup.LoadSpec(f.RollupSpecPath()) }

// Progress reports a fleet operation over total items on stderr.
func (f *Factory) Progress(total int, label string) progress.Reporter {
	return progress.New(f.IO.ErrOut, f.IO.ErrTerminal, total, label, f.Log)
}

// Table writes aligned columns to stdout.
func (f *Factory) Table(header ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(f.IO.Out, 0, 0, 2, ' ', 0)
	if !f.Flags.NoHeaders {
		fmt.Fprintln(tw, strings.Join(header, "\t"))
	}
	return tw
}

// Row writes one row of a Table.
func Row(tw io.Writer, cols ...any) {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprint(c)
	}
	fmt.Fprintln(tw, strings.Join(parts, "\t"))
}

// ExactArgs is cobra.ExactArgs with an invalid-input error naming what is expected.
func ExactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return validate.Errorf("%s expects %s (got %d arguments)", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

// NoArgs refuses positional arguments as invalid input.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return validate.Errorf("%s takes no arguments (got %q)", cmd.CommandPath(), args)
	}
	return nil
}

// AnnotCreatesConfig marks commands that write the config file.
const AnnotCreatesConfig = "creates-config"

// WithMover runs fn with a mover over the environment's provisioner.
func (f *Factory) WithMover(ctx context.Context, fn func(m *mover.Mover) error) error {
	env, err := f.Env(ctx)
	if err != nil {
		return err
	}
	return fn(env.Mover())
}

// ReportSpecPath is the report spec file: the command's --report-spec (flag), else
// TENANTCTL_REPORT_SPEC ("" for the embedded default).
func (f *Factory) ReportSpecPath(cmd *cobra.Command, flag string) string {
	return f.Setting(cmd, "report-spec", flag, "TENANTCTL_REPORT_SPEC", "", "")
}
