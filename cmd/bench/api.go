package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"time"
)

// apiCreate times POST /api/v1/tenants through a running `tenantctl serve`, one request
// at a time over one kept-alive HTTP connection, every create a claim from the warm
// pool (the pool holds a spare per request). The first request (its server connection
// not yet open, unless serve opened it at start) is reported on its own; p50 and p95 are
// of the rest. No raw equivalent: the target is absolute.
func (h *harness) apiCreate(ctx context.Context, r *report) error {
	n := r.Sizes.Creates
	out, err := h.run(ctx, "operator add", "operator", "add", "bench-"+strings.ToLower(slug("api")), "--role", "operator")
	if err != nil {
		return err
	}
	token := ""
	for _, f := range strings.Fields(string(out.out)) {
		if strings.HasPrefix(f, "tctl_") {
			token = f
		}
	}
	if token == "" {
		return fmt.Errorf("operator add printed no token")
	}
	if err := h.setSpares(ctx, n+1); err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	cmd := exec.CommandContext(sctx, h.tenantctl, "serve", "--listen", addr)
	cmd.Env = h.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		stop()
		_ = cmd.Wait()
	}()
	base := "http://" + addr
	client := &http.Client{Timeout: 60 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("tenantctl serve did not answer /healthz within 30 s: %w\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	post := func() (time.Duration, error) {
		s := slug("a")
		body, _ := json.Marshal(map[string]string{"slug": s, "name": "API " + s, "domain": s + ".example", "server": "pg-a"})
		req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/tenants", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != http.StatusCreated {
			return d, fmt.Errorf("POST /api/v1/tenants: %s: %s", resp.Status, b)
		}
		return d, nil
	}
	first, err := post()
	if err != nil {
		return err
	}
	r.add(measurement{Section: "provisioning", Name: "POST /api/v1/tenants through tenantctl serve, pool hit, first request", Ops: 1, Conc: 1,
		TotalMS: ms(first), P50MS: ms(first), P95MS: ms(first), PerOpMS: ms(first)})
	s := h.sampleConns(ctx)
	durs, wall, err := ops(ctx, n, 1, func(int) (time.Duration, error) { return post() })
	peak := s.Stop()
	if err != nil {
		return err
	}
	m := r.add(measurement{Section: "provisioning", Name: "POST /api/v1/tenants through tenantctl serve, pool hit", Ops: n, Conc: 1, TotalMS: ms(wall),
		P50MS: ms(percentile(durs, 0.5)), P95MS: ms(percentile(durs, 0.95)), PerOpMS: ms(wall) / float64(n), PeakConns: peak})
	h.logf("POST /api/v1/tenants, pool hit: first %.1f ms, then p50 %.1f ms, p95 %.1f ms", ms(first), m.P50MS, m.P95MS)
	r.absolute("POST /api/v1/tenants p50, pool hit, through a running serve", m, m.P50MS, 10, "≤ 10 ms")
	return nil
}
