// Package rollout keeps every tenant database at the right schema version: it plans which
// tenants need which tenant migrations, applies them in waves (a canary group first) with
// concurrency bounded overall and per server, records each tenant's outcome in the
// catalog, detects migration files changed after they were applied, and rebuilds each
// server's template database once the fleet is current. It also reports every tenant's
// version ([Status]) and rolls a single tenant back ([Down]).
//
// The fan-out (server handles, round-robin dispatch under the overall and per-server
// limits, progress, the partial error) is fleet's; this package keeps the
// per-tenant work.
//
// It must not print (it reports through a fleet.Progress and returns results), record
// job runs (package jobs wraps a run in catalog.Store.RunJob for the CLI, the demo and
// the scheduler, so a run is recorded exactly once), or touch tenants that are not
// active or suspended. Work inside one tenant database goes through package tenantdb.
package rollout
