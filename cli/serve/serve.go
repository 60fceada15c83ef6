// Package serve is `tenantctl serve`: the operator console and the HTTP API, and the
// probe of a running one.
package serve

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/api"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/console"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/report"
	servelib "github.com/tenantctl/tenantctl/serve"
)

// Options are `serve`'s, every setting resolved: the flag, else its environment
// variable, else the default.
type Options struct {
	Factory          *cmdutil.Factory
	Listen           string
	TLSCert, TLSKey  string
	Wait, SessionTTL time.Duration
	// ReportSpecPath is the report spec ("" for the embedded one).
	ReportSpecPath string
}

// NewCmdServe is `serve`; runF, when not nil, replaces the run.
func NewCmdServe(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	var listen, cert, key, reportSpec, wait, ttl string
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR] [--tls-cert F --tls-key F]",
		Short: "Serve the operator console and the HTTP API (/api/v1) over the catalog",
		Long: `Serve the operator console (HTML pages: overview, customers, customer details,
audit, jobs, servers) and the JSON API /api/v1 (OpenAPI document at
/api/v1/openapi.json) until SIGTERM or SIGINT.

Operators authenticate with the token 'tenantctl operator add' printed: in the console
with their login and token (a session cookie follows), in the API as
"Authorization: Bearer TOKEN". What they do is recorded in the event log under their
login. Run several replicas side by side: sessions, login limits and idempotency keys
live in the catalog.

Listens on 127.0.0.1:8080 unless told otherwise; serve over TLS (--tls-cert, --tls-key)
or behind a TLS-terminating proxy whenever the address is not loopback.`,
		Example: `  tenantctl operator add alice --role operator
  tenantctl serve                                   # then open http://127.0.0.1:8080
  tenantctl serve --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/v1/tenants`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, run, func(cmd *cobra.Command, _ []string) error {
			opts.Listen = f.Setting(cmd, "listen", listen, "TENANTCTL_SERVE_LISTEN", "", servelib.DefaultListen)
			opts.TLSCert = f.Setting(cmd, "tls-cert", cert, "TENANTCTL_TLS_CERT", "", "")
			opts.TLSKey = f.Setting(cmd, "tls-key", key, "TENANTCTL_TLS_KEY", "", "")
			if err := servelib.CheckTLS(opts.TLSCert, opts.TLSKey); err != nil {
				return err
			}
			var err error
			opts.Wait, err = serveDuration(f.Setting(cmd, "wait", wait, "TENANTCTL_SERVE_WAIT", "", api.DefaultWait.String()), "wait")
			if err != nil {
				return err
			}
			opts.SessionTTL, err = serveDuration(f.Setting(cmd, "session-ttl", ttl, "TENANTCTL_SESSION_TTL", "", console.DefaultSessionTTL.String()), "session-ttl")
			if err != nil {
				return err
			}
			opts.ReportSpecPath = f.ReportSpecPath(cmd, reportSpec)
			return nil
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", servelib.DefaultListen, "address to listen on (env TENANTCTL_SERVE_LISTEN)")
	fl.StringVar(&cert, "tls-cert", "", "TLS certificate file (PEM); with --tls-key, serve HTTPS and mark cookies Secure (env TENANTCTL_TLS_CERT)")
	fl.StringVar(&key, "tls-key", "", "TLS private key file (PEM) (env TENANTCTL_TLS_KEY)")
	fl.StringVar(&reportSpec, "report-spec", "", "per-customer report spec YAML (env TENANTCTL_REPORT_SPEC; default: embedded)")
	fl.StringVar(&wait, "wait", api.DefaultWait.String(), "how long an API request waits for a long operation (create, purge) before answering 202 with a job (env TENANTCTL_SERVE_WAIT)")
	fl.StringVar(&ttl, "session-ttl", console.DefaultSessionTTL.String(), "how long a console login lasts (env TENANTCTL_SESSION_TTL)")
	cmd.AddCommand(NewCmdProbe(f, nil))
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	f := opts.Factory
	// Bad specs are refused before the catalog is contacted; the API's and the
	// console's rollups read the rollup spec again at each run.
	spec, err := report.LoadSpec(opts.ReportSpecPath)
	if err != nil {
		return err
	}
	if _, err := f.RollupSpec(); err != nil {
		return err
	}
	eo, err := f.EnvOptions()
	if err != nil {
		return err
	}
	eo.ReportSpecPath = opts.ReportSpecPath
	env := fleetenv.New(eo)
	if err := env.Start(ctx); err != nil {
		return err
	}
	defer env.Stop()
	// A create from the warm pool finds its server and catalog connections open:
	// they are made at start and after each claim, between requests.
	env.Provisioner.KeepWarm = true
	env.Provisioner.WarmClaims(ctx)
	s, err := servelib.New(servelib.Options{Env: env, ReportSpec: spec, Wait: opts.Wait, SessionTTL: opts.SessionTTL,
		Secure: opts.TLSCert != "", Log: f.Log.Named("serve")})
	if err != nil {
		return err
	}
	scheme := "http"
	if opts.TLSCert != "" {
		scheme = "https"
	}
	return servelib.Run(ctx, s, opts.Listen, opts.TLSCert, opts.TLSKey, f.Log, func(addr string) {
		f.Log.Info("serving the console and the API", "url", scheme+"://"+addr+"/", "api", scheme+"://"+addr+"/api/v1/")
	})
}

// ProbeOptions are `serve probe`'s.
type ProbeOptions struct {
	Factory *cmdutil.Factory
	// Listen is serve's address (--listen, TENANTCTL_SERVE_LISTEN, the default).
	Listen string
	// TLS says serve runs with TLS.
	TLS bool
}

// NewCmdProbe is `serve probe`, which checks a running serve's /healthz: the health
// check of containers whose image has no curl. runF, when not nil, replaces the run.
func NewCmdProbe(f *cmdutil.Factory, runF func(context.Context, *ProbeOptions) error) *cobra.Command {
	opts := &ProbeOptions{Factory: f}
	var listen string
	cmd := &cobra.Command{
		Use:     "probe [--listen ADDR] [--tls]",
		Example: "  tenantctl serve probe\n  tenantctl serve probe --listen 127.0.0.1:8443 --tls",
		Short:   "Check a running 'tenantctl serve': exit 0 when its /healthz answers 200",
		Args:    cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runProbe, func(cmd *cobra.Command, _ []string) error {
			opts.Listen = f.Setting(cmd, "listen", listen, "TENANTCTL_SERVE_LISTEN", "", servelib.DefaultListen)
			return nil
		}),
	}
	cmd.Flags().StringVar(&listen, "listen", servelib.DefaultListen, "address serve listens on (env TENANTCTL_SERVE_LISTEN)")
	cmd.Flags().BoolVar(&opts.TLS, "tls", false, "serve runs with TLS (implied when TENANTCTL_TLS_CERT is set)")
	return cmd
}

func runProbe(ctx context.Context, opts *ProbeOptions) error {
	f := opts.Factory
	host, port, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return validate.Errorf("invalid --listen %q: use HOST:PORT", opts.Listen)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1" // a wildcard listener answers on loopback
	}
	scheme, client := "http", http.DefaultClient
	if opts.TLS || f.Getenv("TENANTCTL_TLS_CERT") != "" {
		// The probe checks liveness on loopback, not the certificate's name.
		scheme = "https"
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback liveness probe
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("probe serve: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe serve: /healthz answered %s", resp.Status)
	}
	fmt.Fprintf(f.IO.Out, "/healthz: %s\n", resp.Status)
	return nil
}

func serveDuration(v, flag string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, validate.Errorf("invalid --%s %q: use a positive duration such as 30s or 8h", flag, v)
	}
	return d, nil
}
