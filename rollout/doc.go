// Package rollout keeps every tenant database at the right schema version: it plans which
// tenants need which tenant migrations, applies them in waves (a canary group first) with
// concurrency bounded overall and per server, records each tenant's outcome in the
// catalog, detects migration files changed after they were applied, and rebuilds each
// server's template database once the fleet is current. It also reports every tenant's
// version ([Status]) and rolls a single tenant back ([Down]).
//
// It must not print (it reports through a progress.Reporter and returns results), record
// job runs (the CLI or the scheduler wraps a run in catalog.Store.RunJob, so a run is
// recorded exactly once), or touch tenants that are not active or suspended. Work inside
// one tenant database goes through package tenantdb.
package rollout
