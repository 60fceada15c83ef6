// Package catalog owns the catalog database: its schema, and every read and write of
// servers, tenants, sealed credentials, the warehouse registration, job runs and the
// append-only event log.
//
// It is the source of truth and nothing else: it never connects to a tenant server or to
// the warehouse (package tenantdb and package warehouse do), and it never holds a
// plaintext secret longer than the call that opens it.
package catalog
