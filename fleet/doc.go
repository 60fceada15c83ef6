// Package fleet runs one piece of work per tenant across the fleet: it owns the cache
// of server handles (per run, or per process when a fleetenv.Env holds it), the pool on
// the warehouse ([Warehouse], one per process), the round-robin dispatcher that bounds
// work overall and per server, the progress contract, and the one partial-result error
// every fleet operation returns.
//
// It knows nothing of what the per-tenant work is (migrating, rolling up, auditing);
// the packages that use it (rollout, rollup, audit, provisioner) keep only that. It must
// not print, record job runs, or know about CLI flags.
package fleet
