package cmdutil

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// ProbeHTTP is the health check of a running long-lived command (serve, scheduler) for
// containers whose image has no curl: GET path on the address it listens on (a wildcard
// host is asked on loopback), within 5 s, over TLS when useTLS. A 200 prints
// "PATH: STATUS" on out; anything else is an error naming what was probed.
func ProbeHTTP(ctx context.Context, out io.Writer, what, listen, path string, useTLS bool) error {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return validate.Errorf("invalid --listen %q: use HOST:PORT", listen)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1" // a wildcard listener answers on loopback
	}
	scheme, client := "http", http.DefaultClient
	if useTLS {
		// The probe checks liveness on loopback, not the certificate's name.
		scheme = "https"
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback liveness probe
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, port)+path, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: %s answered %s", what, path, resp.Status)
	}
	fmt.Fprintf(out, "%s: %s\n", path, resp.Status)
	return nil
}
