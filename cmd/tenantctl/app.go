package main

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
	"golang.org/x/term"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/internal/progress"
	"github.com/tenantctl/tenantctl/internal/validate"
	buildversion "github.com/tenantctl/tenantctl/internal/version"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	// exitViolations: the audit ran and found violations (1 is an audit that could not run).
	exitViolations = 3
)

// version is this binary's version: stamped by make build and the Dockerfile, recorded
// by go install …@vX.Y.Z, or the checkout's VCS revision (package internal/version).
var version = buildversion.String()

// app holds what every command needs: its streams, the environment and the resolved
// global settings. Commands never touch os.Stdout or os.Getenv directly, so tests run
// them with buffers and a fake environment.
type app struct {
	in       io.Reader
	out, err io.Writer
	getenv   func(string) string
	// terminal is true when stderr is a terminal: fleet operations then draw a progress
	// bar instead of logging a line per tenant.
	terminal bool

	// global flags as given on the command line
	flags struct {
		catalog, secretKeyFile, tenantMigrations, rollupSpec, config, context string
		logLevel, logFormat, output                                           string
		noHeaders                                                             bool
	}
	file config.File
	// configRead is the config file that was read ("" when none was found).
	configRead string
	// configSource says how configRead was found: "explicit", "project" or "user".
	configSource string
	// rawFile is the config file as read, before its context was selected.
	rawFile config.File
	log     hclog.Logger
	// ran is set once a command's own code starts: errors before it are usage errors.
	ran  bool
	root *cobra.Command
}

func run(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer, getenv func(string) string) int {
	a := &app{in: in, out: out, err: secret.ScrubWriter(errOut), getenv: getenv}
	if f, ok := errOut.(*os.File); ok {
		a.terminal = term.IsTerminal(int(f.Fd()))
	}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(a.err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitFailure
	if !a.ran || errors.Is(err, validate.ErrInvalid) || errors.Is(err, secret.ErrNoKey) || errors.Is(err, secret.ErrWrongKey) {
		code = exitUsage
	}
	var ce *codeError
	if errors.As(err, &ce) {
		code = ce.code
	}
	if !errors.Is(err, errSilent) {
		fmt.Fprintf(a.err, "Error: %s\n", secret.Scrub(describeError(err)))
	}
	if !a.ran {
		fmt.Fprintf(a.err, "Run '%s --help' for usage.\n", root.Name())
	}
	return code
}

// errSilent is returned by commands that already reported their outcome (an audit with
// violations, a fleet run with failures) and only need the exit status.
var errSilent = errors.New("")

// codeError carries an explicit exit status.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "tenantctl",
		Short: "One physically separate PostgreSQL database per customer, managed as a fleet",
		Long: `tenantctl gives every customer of a managed service provider its own PostgreSQL
database, with its own roles, hardened so nobody else can reach it; keeps the fleet
migrated; rolls every tenant's rows up into one MSP-only warehouse; and audits that no
customer can reach another's data.

Configuration comes from flags, then TENANTCTL_* environment variables, then the config
file: --config, else .tenantctl/config.yaml in this directory or the nearest parent (written
by 'tenantctl dev up'), else $XDG_CONFIG_HOME/tenantctl/config.yaml. A config file may hold
named contexts (one catalog each): see 'tenantctl config get-contexts'.

Exit status: 0 success; 1 the operation failed (an audit that could not run too);
2 bad usage or invalid input, including an unknown command (nothing was changed);
3 the audit found violations.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		Version:           version,
		PersistentPreRunE: a.setup,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return validate.Invalid(err) })
	pf := root.PersistentFlags()
	pf.StringVar(&a.flags.catalog, "catalog", "", "catalog database DSN (env TENANTCTL_CATALOG_DSN)")
	pf.StringVar(&a.flags.secretKeyFile, "secret-key-file", "", "file holding the base64 32-byte key that encrypts credentials (env TENANTCTL_SECRET_KEY_FILE; or TENANTCTL_SECRET_KEY inline)")
	pf.StringVar(&a.flags.tenantMigrations, "tenant-migrations", "", "directory of goose SQL migrations for tenant databases (env TENANTCTL_TENANT_MIGRATIONS; default: embedded)")
	pf.StringVar(&a.flags.rollupSpec, "rollup-spec", "", "rollup spec YAML file (env TENANTCTL_ROLLUP_SPEC; default: embedded)")
	pf.StringVar(&a.flags.config, "config", "", "config file (env TENANTCTL_CONFIG; default: .tenantctl/config.yaml here or in a parent directory, else ~/.config/tenantctl/config.yaml)")
	pf.StringVar(&a.flags.context, "context", "", "named context of the config file to use (env TENANTCTL_CONTEXT; default: its current_context)")
	pf.StringVar(&a.flags.logLevel, "log-level", "", "log level: trace, debug, info, warn, error (env TENANTCTL_LOG_LEVEL; default info)")
	pf.StringVar(&a.flags.logFormat, "log-format", "", "log format: text or json (env TENANTCTL_LOG_FORMAT; default text)")
	pf.StringVarP(&a.flags.output, "output", "o", "text", "output format: text, json or yaml (markdown too where a command says so)")
	pf.BoolVar(&a.flags.noHeaders, "no-headers", false, "omit the header line of text tables")

	root.AddGroup(&cobra.Group{ID: "fleet", Title: "Fleet commands:"}, &cobra.Group{ID: "local", Title: "Local environment:"})
	// Every command is registered here and only here; a new command adds its line.
	for _, c := range []*cobra.Command{
		a.catalogCmd(), a.serverCmd(), a.warehouseCmd(), a.tenantCmd(), a.eventsCmd(), a.jobsCmd(),
		a.accessCmd(), a.auditCmd(nil), a.migrateCmd(), a.reconcileCmd(), a.rollupCmd(), a.schedulerCmd(),
		a.demoCmd(), a.serveCmd(), a.operatorCmd(), a.reportCmd(), a.secretCmd(), a.configCmd(), a.backupCmd(),
	} {
		if c.GroupID == "" {
			c.GroupID = "fleet"
		}
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{a.devCmd()} {
		c.GroupID = "local"
		root.AddCommand(c)
	}
	root.AddCommand(a.versionCmd())
	a.finishTree(root)
	a.root = root
	return root
}

// annotCreatesConfig marks commands that write the config file.
const annotCreatesConfig = "creates-config"

// setup resolves global settings and the logger before any command runs.
func (a *app) setup(cmd *cobra.Command, _ []string) error {
	f, err := a.loadConfig(cmd)
	if err != nil {
		return err
	}
	a.file = f
	level := a.setting(cmd, "log-level", a.flags.logLevel, "TENANTCTL_LOG_LEVEL", f.LogLevel, "info")
	format := a.setting(cmd, "log-format", a.flags.logFormat, "TENANTCTL_LOG_FORMAT", f.LogFormat, "text")
	if hclog.LevelFromString(level) == hclog.NoLevel {
		return validate.Errorf("invalid --log-level %q: use trace, debug, info, warn or error", level)
	}
	if format != "text" && format != "json" {
		return validate.Errorf("invalid --log-format %q: use text or json", format)
	}
	a.log = hclog.New(&hclog.LoggerOptions{
		Name: "tenantctl", Level: hclog.LevelFromString(level), Output: a.err, JSONFormat: format == "json",
	})
	if err := checkOutput(cmd, a.flags.output); err != nil {
		return err
	}
	a.ran = true
	return a.checkNames(cmd)
}

func (a *app) setting(cmd *cobra.Command, flag, flagValue, env, fileValue, def string) string {
	return config.Resolve(cmd.Flags().Changed(flag), flagValue, a.getenv(env), fileValue, def)
}

func (a *app) catalogDSN() string {
	return a.setting(a.root, "catalog", a.flags.catalog, "TENANTCTL_CATALOG_DSN", a.file.Catalog, "")
}

func (a *app) tenantMigrations() (fs.FS, error) {
	dir := a.setting(a.root, "tenant-migrations", a.flags.tenantMigrations, "TENANTCTL_TENANT_MIGRATIONS", a.file.TenantMigrations, "")
	if dir == "" {
		return migrations.Tenant(), nil
	}
	return migrations.Dir(dir)
}

func (a *app) rollupSpecPath() string {
	return a.setting(a.root, "rollup-spec", a.flags.rollupSpec, "TENANTCTL_ROLLUP_SPEC", a.file.RollupSpec, "")
}

// store opens the catalog with the secret key when one is configured.
func (a *app) store(ctx context.Context) (*catalog.Store, error) {
	box, err := a.box()
	if err != nil {
		return nil, err
	}
	store, err := catalog.Open(ctx, a.catalogDSN(), box)
	if err != nil {
		return nil, err
	}
	if actor := a.getenv("TENANTCTL_ACTOR"); actor != "" {
		store.Actor = actor
	}
	return store, nil
}

// provisioner opens the catalog and returns a provisioner over it; close the store.
func (a *app) provisioner(ctx context.Context) (*provisioner.Provisioner, func(), error) {
	store, err := a.store(ctx)
	if err != nil {
		return nil, nil, err
	}
	fsys, err := a.tenantMigrations()
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	p := provisioner.New(store, a.log)
	p.TenantMigrations = fsys
	return p, func() { p.Close(); store.Close() }, nil
}

// progress reports a fleet operation over total items on stderr.
func (a *app) progress(total int, label string) progress.Reporter {
	return progress.New(a.err, a.terminal, total, label, a.log)
}

// jsonOutput reports whether -o asks for structured output (json or yaml).
func (a *app) jsonOutput() bool { return a.structured() }

// printJSON prints v as -o asks: JSON, or YAML with the same fields.
func (a *app) printJSON(v any) error { return a.printStructured(v) }

// table writes aligned columns to stdout.
func (a *app) table(header ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	if !a.flags.noHeaders {
		fmt.Fprintln(tw, strings.Join(header, "\t"))
	}
	return tw
}

func row(tw io.Writer, cols ...any) {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprint(c)
	}
	fmt.Fprintln(tw, strings.Join(parts, "\t"))
}

// exactArgs is cobra.ExactArgs with an invalid-input error naming what is expected.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return validate.Errorf("%s expects %s (got %d arguments)", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return validate.Errorf("%s takes no arguments (got %q)", cmd.CommandPath(), args)
	}
	return nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

// readDSN resolves a --dsn/--dsn-file pair: "-" reads the DSN from stdin and a file
// holds it, so a password need not appear on the command line (and in ps output).
func (a *app) readDSN(dsn, file string) (string, error) {
	if file != "" && dsn != "" {
		return "", validate.Errorf("give --dsn or --dsn-file, not both")
	}
	var raw []byte
	var err error
	switch {
	case file != "":
		raw, err = os.ReadFile(file)
	case dsn == "-":
		raw, err = io.ReadAll(io.LimitReader(a.in, 64<<10))
	default:
		return dsn, nil
	}
	if err != nil {
		return "", validate.Errorf("read DSN: %v", err)
	}
	return strings.TrimSpace(string(raw)), nil
}
