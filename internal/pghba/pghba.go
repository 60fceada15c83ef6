// Package pghba writes the pg_hba.conf lines that confine every tenant and MSP access
// login to its own database. It owns only their text: the roles they match are made by
// package tenantdb, and who installs them (an operator, localpg for dev and test
// clusters) is its callers' business. It connects to nothing.
package pghba

import (
	"fmt"
	"regexp"
	"strings"
)

// LoginsRole is the group role every tenant and MSP access login is a member of: the
// "+tenantctl_logins" of the lines. NOLOGIN, and it is granted nothing.
const LoginsRole = "tenantctl_logins"

// Methods are the authentication methods [Lines] accepts for the admin role.
var Methods = []string{"scram-sha-256", "md5", "password", "cert", "gss", "sspi", "ldap", "radius", "pam"}

var plainRole = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// hbaRole writes a role name as pg_hba.conf reads it (double-quoted unless plain).
func hbaRole(role string) string {
	if plainRole.MatchString(role) {
		return role
	}
	return `"` + strings.ReplaceAll(role, `"`, `""`) + `"`
}

// TemplateOwnerRole owns the objects of template databases while they are built (a
// shared role tenantctl creates on every server).
const TemplateOwnerRole = "tenantctl_template_owner"

// SharedRoles are the roles tenantctl creates on a server that are not one tenant's:
// the login group, the template owner and the admin role. A database named like one of
// them would be opened by "samerole" to every member of that role, so [Lines] rejects
// tenant logins there explicitly.
func SharedRoles(adminRole string) []string {
	out := []string{LoginsRole, TemplateOwnerRole}
	if adminRole != "" && adminRole != LoginsRole && adminRole != TemplateOwnerRole {
		out = append(out, adminRole)
	}
	return out
}

// hbaKeywords are the words pg_hba.conf reads as keywords in the database and user
// fields unless they are quoted.
var hbaKeywords = map[string]bool{"all": true, "sameuser": true, "samerole": true, "samegroup": true, "replication": true}

// hbaName writes a database or role name as pg_hba.conf reads it as a name.
func hbaName(name string) string {
	if hbaKeywords[name] {
		return `"` + name + `"`
	}
	return hbaRole(name)
}

// Rows returns the lines of [Lines] as fields: type, database, user, address, method
// (address "" on local lines). The admin's method defaults to scram-sha-256.
func Rows(adminRole, method string) [][]string {
	if method == "" {
		method = "scram-sha-256"
	}
	admin, logins := hbaName(adminRole), "+"+hbaRole(LoginsRole)
	closed := []string{"replication"}
	for _, r := range SharedRoles(adminRole) {
		closed = append(closed, hbaName(r))
	}
	shared := strings.Join(closed, ",")
	return [][]string{
		{"local", "all", admin, "", method},
		{"host", "all", admin, "all", method},
		{"local", shared, logins, "", "reject"},
		{"host", shared, logins, "all", "reject"},
		{"local", "samerole", logins, "", "scram-sha-256"},
		{"host", "samerole", logins, "all", "scram-sha-256"},
		{"local", "all", logins, "", "reject"},
		{"host", "all", logins, "all", "reject"},
	}
}

// Lines returns the pg_hba.conf lines that confine every tenant and MSP access login
// to its own database, for a superuser to place first in the server's file. They are
// static — they name no tenant — so tenants created later are covered without editing
// the file again:
//
//   - the admin role comes first, because it is a member of every tenant's roles and
//     so of LoginsRole too (the first matching line wins);
//   - the replication pseudo-database and every database named like one of
//     tenantctl's shared roles ([SharedRoles]) are rejected for members of LoginsRole:
//     "samerole" would open a database named tenantctl_logins to every one of them;
//   - "samerole" matches when the login is a member of a role named like the requested
//     database: the tenant's group role, named like its database;
//   - every other database is rejected for members of LoginsRole.
//
// Superusers are not members of LoginsRole (PostgreSQL does not count a superuser as a
// member of a group in pg_hba.conf unless it is one explicitly), so they are unaffected.
func Lines(adminRole, method string) string {
	var b strings.Builder
	b.WriteString("# tenantctl: confine tenant and MSP access logins to their own database.\n")
	b.WriteString("# Place these lines FIRST in pg_hba.conf, then reload (SELECT pg_reload_conf()).\n")
	for _, r := range Rows(adminRole, method) {
		fmt.Fprintf(&b, "%-6s %-9s %-22s %-4s %s\n", r[0], r[1], r[2], r[3], r[4])
	}
	b.WriteString("# end of tenantctl lines\n")
	return b.String()
}
