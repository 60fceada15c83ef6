package scheduler

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tenantctl/tenantctl/secret"
)

// readyTimeout bounds the catalog ping behind /readyz.
const readyTimeout = 2 * time.Second

// handler serves the scheduler's endpoints:
//
//	GET /healthz  200 while the process runs
//	GET /readyz   200 while the catalog answers, 503 otherwise; the body says leader or standby
//	GET /metrics  Prometheus text
func (s *Scheduler) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{
		Registry:          s.metrics.reg,
		EnableOpenMetrics: true,
	}))
	return mux
}

func (s *Scheduler) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.opts.Store.Pool().Ping(ctx); err != nil {
		s.log.Debug("readiness: catalog unreachable", "error", secret.Scrub(err.Error()))
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready: the catalog is unreachable")
		return
	}
	role := "standby"
	if s.IsLeader() {
		role = "leader"
	}
	fmt.Fprintf(w, "ready: %s %s\n", s.opts.Node, role)
}
