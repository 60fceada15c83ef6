// Package tenantdb does everything done inside or to one tenant database on its server:
// naming, creating and dropping the database and its roles, grants and hardening,
// template databases, connecting, live statistics and isolation probes, the group roles
// and pg_hba.conf lines that confine tenant logins, and the read-only inspections the
// audit makes of a server's databases (bridges, shared dependencies, privileges). It
// also inspects a server before it is registered.
//
// It knows nothing of the catalog: callers pass it server DSNs and tenant ids, and keep
// the record of what was done. Every identifier it sends is quoted with
// pgx.Identifier.Sanitize; every value is a query parameter.
package tenantdb
