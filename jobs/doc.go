// Package jobs is the table of fleet jobs — migrate, rollup, audit, reconcile, purge
// and report — each defined once with its options, typed result and the counts recorded with
// a run. The CLI commands, the demo and the scheduler all run a job through its [Def],
// so a job is wired in one place.
//
// It owns no logic of its own (that stays in rollout, rollup, audit and provisioner)
// and must not print, parse flags or schedule anything.
package jobs
