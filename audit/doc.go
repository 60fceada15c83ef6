// Package audit proves tenant isolation with evidence: configuration checks over every
// server's shared catalogs, every database on it (bridges in postgres and template1,
// copies found through pg_shdepend) and every tenant database (privileges, objects,
// settings), every role that can reach a tenant (tenant, MSP access and admin roles),
// the warehouse's access rules down to its tables, drift between the catalog and the
// servers, and live probes that log in with each tenant's own credentials and try to
// reach other tenants' databases, the servers' shared databases and the warehouse.
// It renders reports (text, JSON, Markdown) and keeps a history of runs in the catalog.
//
// It is read-only towards servers: every session it opens is read-only, and it never
// grants, revokes, creates or drops anything (reconcile fixes drift; the audit only
// reports). It does not record job runs (the CLI or the scheduler wraps a run); the
// only thing it writes is its own run history in the catalog.
package audit
