// Package serve wires `tenantctl serve`: the operator console and the /api/v1 API over
// one catalog in one HTTP server, with /healthz, TLS when given a certificate, and a
// graceful shutdown that lets operations started by requests finish.
//
// It holds no state of its own: sessions, login failures and idempotency keys live in
// the catalog, so several replicas can run side by side behind a load balancer.
package serve
