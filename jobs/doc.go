// Package jobs is the table of fleet jobs — migrate, rollup, audit, reconcile, purge,
// report, pool and backups — each defined once with its options, typed result and the
// counts recorded with a run. The CLI commands, the demo, the API, the console and the
// scheduler all run a job through its [Def] over the process's [fleetenv.Env], and the
// options every caller shares are built from that environment here
// ([MigrateOptions], [RollupOptions], [AuditOptions], [ReportOptionsFor], [BackupEnv]),
// so a job is wired in one place.
//
// It owns no logic of its own (that stays in rollout, rollup, audit, provisioner and
// mover) and must not print, parse flags or schedule anything.
package jobs
