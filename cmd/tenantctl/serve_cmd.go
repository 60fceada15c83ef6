package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/api"
	"github.com/tenantctl/tenantctl/console"
	"github.com/tenantctl/tenantctl/internal/cmd/cmdutil"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/report"
	"github.com/tenantctl/tenantctl/rollup"
	"github.com/tenantctl/tenantctl/serve"
)

// reportSpecPath is the report spec: --report-spec, TENANTCTL_REPORT_SPEC, or the
// embedded default ("").
func (a *app) reportSpec(cmd *cobra.Command, flag string) (*report.Spec, error) {
	return report.LoadSpec(a.Setting(cmd, "report-spec", flag, "TENANTCTL_REPORT_SPEC", "", ""))
}

func (a *app) serveCmd() *cobra.Command {
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			listen = a.Setting(cmd, "listen", listen, "TENANTCTL_SERVE_LISTEN", "", serve.DefaultListen)
			cert = a.Setting(cmd, "tls-cert", cert, "TENANTCTL_TLS_CERT", "", "")
			key = a.Setting(cmd, "tls-key", key, "TENANTCTL_TLS_KEY", "", "")
			if err := serve.CheckTLS(cert, key); err != nil {
				return err
			}
			waitD, err := serveDuration(a.Setting(cmd, "wait", wait, "TENANTCTL_SERVE_WAIT", "", api.DefaultWait.String()), "wait")
			if err != nil {
				return err
			}
			ttlD, err := serveDuration(a.Setting(cmd, "session-ttl", ttl, "TENANTCTL_SESSION_TTL", "", console.DefaultSessionTTL.String()), "session-ttl")
			if err != nil {
				return err
			}
			spec, err := a.reportSpec(cmd, reportSpec)
			if err != nil {
				return err
			}
			rspec, err := rollup.LoadSpec(a.RollupSpecPath())
			if err != nil {
				return err
			}
			p, done, err := a.Provisioner(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			s, err := serve.New(serve.Options{Provisioner: p, RollupSpec: rspec, ReportSpec: spec, Wait: waitD, SessionTTL: ttlD,
				Secure: cert != "", Node: cmdutil.Hostname(), Log: a.Log.Named("serve")})
			if err != nil {
				return err
			}
			scheme := "http"
			if cert != "" {
				scheme = "https"
			}
			return serve.Run(cmd.Context(), s, listen, cert, key, a.Log, func(addr string) {
				a.Log.Info("serving the console and the API", "url", scheme+"://"+addr+"/", "api", scheme+"://"+addr+"/api/v1/")
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", serve.DefaultListen, "address to listen on (env TENANTCTL_SERVE_LISTEN)")
	f.StringVar(&cert, "tls-cert", "", "TLS certificate file (PEM); with --tls-key, serve HTTPS and mark cookies Secure (env TENANTCTL_TLS_CERT)")
	f.StringVar(&key, "tls-key", "", "TLS private key file (PEM) (env TENANTCTL_TLS_KEY)")
	f.StringVar(&reportSpec, "report-spec", "", "per-customer report spec YAML (env TENANTCTL_REPORT_SPEC; default: embedded)")
	f.StringVar(&wait, "wait", api.DefaultWait.String(), "how long an API request waits for a long operation (create, purge) before answering 202 with a job (env TENANTCTL_SERVE_WAIT)")
	f.StringVar(&ttl, "session-ttl", console.DefaultSessionTTL.String(), "how long a console login lasts (env TENANTCTL_SESSION_TTL)")
	cmd.AddCommand(a.serveProbeCmd())
	return cmd
}

// serveProbeCmd checks a running serve's /healthz: the health check of containers
// whose image has no curl.
func (a *app) serveProbeCmd() *cobra.Command {
	var listen string
	var insecure bool
	cmd := &cobra.Command{
		Use:   "probe [--listen ADDR] [--tls]",
		Short: "Check a running 'tenantctl serve': exit 0 when its /healthz answers 200",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr := a.Setting(cmd, "listen", listen, "TENANTCTL_SERVE_LISTEN", "", serve.DefaultListen)
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return validate.Errorf("invalid --listen %q: use HOST:PORT", addr)
			}
			if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
				host = "127.0.0.1" // a wildcard listener answers on loopback
			}
			scheme, client := "http", http.DefaultClient
			if insecure || a.Getenv("TENANTCTL_TLS_CERT") != "" {
				// The probe checks liveness on loopback, not the certificate's name.
				scheme = "https"
				client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback liveness probe
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
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
			fmt.Fprintf(a.IO.Out, "/healthz: %s\n", resp.Status)
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", serve.DefaultListen, "address serve listens on (env TENANTCTL_SERVE_LISTEN)")
	cmd.Flags().BoolVar(&insecure, "tls", false, "serve runs with TLS (implied when TENANTCTL_TLS_CERT is set)")
	return cmd
}

func serveDuration(v, flag string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, validate.Errorf("invalid --%s %q: use a positive duration such as 30s or 8h", flag, v)
	}
	return d, nil
}
