// Package serve wires `tenantctl serve`: the operator console and the /api/v1 API over
// one catalog in one HTTP server, with /healthz, TLS when given a certificate, and a
// graceful shutdown that lets operations started by requests finish.
//
// The console, the API and the view share the process's fleetenv.Env, which its
// builder (the serve command) starts before and stops after. It holds no state of its
// own: sessions, login failures and idempotency keys live in
// the catalog, so several replicas can run side by side behind a load balancer.
package serve
