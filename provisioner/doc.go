// Package provisioner runs the tenant lifecycle as a crash-safe state machine over the
// catalog and the tenant servers: registering servers and the warehouse, creating,
// suspending, resuming, deleting, purging and reconciling tenants; keeping each server's
// warm pool of spare databases (refilled here, claimed by Create); creating tenants in
// batches.
//
// Every step is recorded in the catalog before and after it runs and is idempotent, so a
// command killed at any instant converges when it, or `tenantctl reconcile`, runs again.
// It does SQL on tenant servers only through package tenantdb.
package provisioner
