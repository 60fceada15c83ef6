// Package mover moves customer data: a tenant's database to another server
// ([Mover.Move], method dump: pg_dump piped into pg_restore, verified by per-table row
// counts and checksums), every tenant off a server ([Mover.Evacuate]), a tenant's data
// out as a pg_dump archive ([Mover.Export]) and a customer's existing dump in as a new
// tenant ([Mover.Import]).
//
// A move is a state machine recorded in the catalog (table tenant_moves; tenant state
// moving) under the tenant's advisory lock: planned, suspended, target-roles, copying,
// copied, hardened, verified, then one catalog transaction switches the tenant to the
// target; after it the move only goes forward (resume, then drop the source copy once its
// retention ends). Killed before the switch, a rerun finishes it and reconcile rolls it
// back; killed after, both finish it. Until the switch the source is the only copy the
// application can write (the target's app role stays NOLOGIN), and after it the source's
// app role stays NOLOGIN: the customer is never writable in two places.
//
// Files: mover.go (the Mover, steps, hooks, the tenant lock), move.go (the state
// machine, its rollback and the dropping of copies), verify.go (per-table counts and
// checksums), pgclient.go (finding and running pg_dump/pg_restore), evacuate.go,
// export.go, import.go (archive checks and the import), logical.go (the capability
// check), reconcile.go, errors.go.
//
// It drives servers through package tenantdb and the catalog through package catalog,
// and reuses the provisioner's server handles and placement. It knows nothing of CLI
// flags, never prints, and never passes a password on a command line.
package mover
