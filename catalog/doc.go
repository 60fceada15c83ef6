// Package catalog owns the catalog database: its schema, and every read and write of
// servers, tenants, sealed credentials, the warehouse registration, job runs and the
// append-only event log.
//
// It also owns the key's lifecycle in the catalog (keys.go): the check value that tells a
// wrong key apart at [Open], the key id the sealed_key_guard trigger holds every sealed
// value to, [Store.RotateKey] (one transaction) and [Store.ResetKey] (a lost key). Every
// sealed column is listed in [SealedColumns]; a new one is added there and given the
// trigger, or a test fails.
//
// It is the source of truth and nothing else: it never connects to a tenant server or to
// the warehouse (package tenantdb and package warehouse do), and it never holds a
// plaintext secret longer than the call that opens it.
package catalog
