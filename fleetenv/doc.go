// Package fleetenv is a process's runtime environment: the one catalog store, the one
// cache of server handles, the one warehouse pool, the tenant migrations, the rollup
// and report specs, the node name and the logger, built once by whatever runs fleet
// work — the CLI's factory (one per process, on a command's first need), `serve`, the
// scheduler and the demo — and handed to the libraries that need a part of it.
//
// An [Env] is built with [New] (no I/O), connected with [Env.Start] and released with
// [Env.Stop], which closes everything it owns once; stopping twice, or stopping an
// environment never started, is safe. The provisioner and the mover it gives share its
// server handles and warehouse pool, and so do the fleet migrations and audits whose
// options the jobs package builds from it, so a process holds one connection pool per
// server and one on the warehouse whatever it runs. Specs are read from their files at each
// call, so a long-running process picks up an edited file at its next run.
//
// It owns no fleet logic and must not print, parse flags, schedule anything or import
// the command packages; the jobs package builds each job's options from it.
package fleetenv
