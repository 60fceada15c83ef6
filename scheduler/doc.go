// Package scheduler runs tenantctl's fleet jobs (migrate, rollup, audit, reconcile,
// purge) on cron schedules, with exactly one active leader among any number of replicas
// sharing one catalog.
//
// It owns the schedules, leader election (a PostgreSQL session advisory lock held on a
// dedicated catalog connection), the rule that a job never overlaps itself, graceful
// shutdown, pruning of old job history, and the scheduler's HTTP endpoints (/healthz,
// /readyz, Prometheus /metrics).
//
// It must not know what a job does: jobs are injected as [catalog.JobFunc]s and every run
// is recorded through [catalog.Store.RunJob], exactly once. It never prints; it logs
// through the hclog logger it is given.
package scheduler
