package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pghba"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// Checks of authentication: what the server's effective pg_hba.conf lets in, whether
// a wrong password is refused, which other databases a tenant login opens, and
// tenantctl's own shared roles. They are kept here, apart from checks.go, and join
// [Checks] at init, in the order below (after the checks listed there).
const (
	CheckServerHBA          = "server.hba"
	CheckServerDatabases    = "server.databases"
	CheckRoleShared         = "role.shared"
	CheckProbeWrongPassword = "probe.wrong_password"
	CheckProbeOtherDatabase = "probe.other_database"
)

func init() {
	Checks = append(Checks,
		CheckInfo{CheckServerHBA, Critical, "server", "the server's effective pg_hba.conf rules (pg_hba_file_rules, which the admin role must be granted to read) hold the lines of 'tenantctl server hba', and no rule outside them matches tenant logins before them or lets a tenant login, the admin or a superuser in without a password (trust, ident); when the admin cannot read them the finding says unverified and the verdict is incomplete (exit 1), never passed; every tenant of the server is named"},
		CheckInfo{CheckServerDatabases, Medium, "database", "every database on a server that accepts connections is a tenant's, a tenantctl template or spare, postgres or template1, or declared by the operator with 'tenantctl server set NAME --allow-database DB'"},
		CheckInfo{CheckRoleShared, Critical, "role", "tenantctl's shared roles (tenantctl_logins, of which every tenant login is a member, and tenantctl_template_owner) have no SUPERUSER, CREATEROLE, REPLICATION, CREATEDB or BYPASSRLS, cannot log in and are members of nothing: a tenant login can SET ROLE to them; every tenant of the server is named (the tenants' own group roles are role.confinement's)"},
		CheckInfo{CheckProbeWrongPassword, Critical, "server", "live: a deliberately wrong password is refused for a tenant app role and owner role, an MSP access role (when there is one), the admin role and the server's superusers (postgres and every superuser that can log in): a handful of logins per server; every tenant of the server is named when one gets in"},
		CheckInfo{CheckProbeOtherDatabase, Critical, "server", "live: one tenant's app and owner credentials per server are refused by every other database that accepts connections (declared or not; tenant databases, templates, postgres and template1 are probed by the other probes); every tenant of the server is named when one gets in"},
	)
}

// authState is what the authentication checks read on each server.
type authState struct {
	rules   map[string][]pghba.Rule // by server
	errs    map[string]error        // why a server's rules could not be read
	allowed map[string][]string     // declared databases, by server
}

// readAuth reads the declared databases from the catalog and every reachable
// server's effective pg_hba.conf rules (one connection and one query per server).
func (a *auditor) readAuth(ctx context.Context) error {
	st := &authState{rules: map[string][]pghba.Rule{}, errs: map[string]error{}}
	a.auth = st
	var err error
	if st.allowed, err = a.o.Store.AllowedDatabases(ctx); err != nil {
		return err
	}
	var names []string
	for name := range a.reachableServers() {
		names = append(names, name)
		st.errs[name] = ctx.Err() // replaced when the server is read
	}
	type result struct {
		rules []pghba.Rule
		err   error
	}
	fleet.Dispatch(ctx, names, func(name string) string { return name }, a.limits(),
		func(ctx context.Context, name string) result {
			rules, err := a.servers[name].handle.HBARules(ctx)
			return result{rules, err}
		},
		func(name string, r result) bool {
			st.rules[name], st.errs[name] = r.rules, r.err
			return false
		})
	return nil
}

// serverFinding records a finding about a whole server for every tenant placed on it
// (in scope): what it is about exposes each of them. A server with none is reported
// once, for the fleet.
func (a *auditor) serverFinding(s *server, check, severity string, unverified bool, cause error, format string, args ...any) {
	detail := fmt.Sprintf(format, args...)
	add := func(slug string) {
		v := Violation{Check: check, Severity: severity, Tenant: slug, Server: s.cat.Name, Detail: detail, Unverified: unverified}
		if v.Severity == "" {
			v.Severity = checkInfo(check).Severity
		}
		if cause != nil {
			v.Unanswered = dbconn.NoAnswer(cause)
		}
		a.col.mu.Lock()
		a.col.violations = append(a.col.violations, v)
		a.col.mu.Unlock()
	}
	named := false
	for _, t := range s.tenants {
		if a.inScope(t.Slug) {
			add(t.Slug)
			named = true
		}
	}
	if !named && a.inScope("") {
		add("")
	}
}

// serverInScope reports whether a finding about server s would be reported in this
// run: always for a fleet audit, only on the tenant's server for a one-tenant audit.
func (a *auditor) serverInScope(s *server) bool {
	if a.inScope("") {
		return true
	}
	for _, t := range s.tenants {
		if a.inScope(t.Slug) {
			return true
		}
	}
	return false
}

// serverEvaluated counts one evaluation of check per server, on behalf of every
// tenant on it in scope.
func (a *auditor) serverEvaluated(s *server, check string) {
	a.col.evaluated(check, "")
	for _, t := range s.tenants {
		if a.inScope(t.Slug) {
			a.col.mu.Lock()
			a.col.tenant[t.Slug]++
			a.col.mu.Unlock()
		}
	}
}

// superusers are the server's superuser roles that can log in.
func superusers(s *server) []string {
	var out []string
	for name, r := range s.snap.Roles {
		if r.Superuser && r.CanLogin {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// checkHBA turns every server's effective rules into findings.
func (a *auditor) checkHBA() {
	if a.auth == nil {
		return
	}
	for name, s := range a.reachableServers() {
		a.serverEvaluated(s, CheckServerHBA)
		if err := a.auth.errs[name]; err != nil {
			if errors.Is(err, tenantdb.ErrHBAUnreadable) {
				a.serverFinding(s, CheckServerHBA, High, true, nil,
					"unverified: the admin role %s of server %s may not read the server's effective pg_hba.conf rules, so whether a rule lets a login in without its password or around tenantctl's lines is unverified; as a superuser run: %s",
					s.cat.AdminRole, name, tenantdb.HBAGrantSQL(s.cat.AdminRole))
			} else {
				a.serverFinding(s, CheckServerHBA, High, true, err, "unverified: the effective pg_hba.conf rules of server %s could not be read: %v", name, err)
			}
			continue
		}
		an := pghba.Check(a.auth.rules[name], pghba.CheckOptions{AdminRole: s.cat.AdminRole, Superusers: superusers(s)})
		for _, f := range an.Findings {
			a.serverFinding(s, CheckServerHBA, f.Severity, f.Unverified, nil, "server %s: %s", name, f.Detail)
		}
	}
}

// otherDatabases lists, for server s, the databases that accept connections and are
// none of: a tenant-named database (drift and server.tenant_objects look after
// those), a tenantctl template, postgres, template1 or template0.
func otherDatabases(s *server) []string {
	var out []string
	for db, d := range s.snap.Databases {
		if !d.AllowConn || tenantdb.LooksLikeTenant(db) || strings.HasPrefix(db, tenantdb.TemplatePrefix) {
			continue
		}
		switch db {
		case "postgres", "template1", "template0":
			continue
		}
		out = append(out, db)
	}
	sort.Strings(out)
	return out
}

// checkServerDatabases reports the connectable databases nobody declared.
func (a *auditor) checkServerDatabases() {
	if !a.inScope("") || a.auth == nil {
		return
	}
	for name, s := range a.reachableServers() {
		declared := map[string]bool{}
		for _, db := range a.auth.allowed[name] {
			declared[db] = true
		}
		for _, db := range otherDatabases(s) {
			a.col.evaluated(CheckServerDatabases, "")
			if !declared[db] {
				a.col.violation(CheckServerDatabases, "", "", name,
					"database %s on server %s accepts connections and is neither a tenant's nor tenantctl's: declare it with 'tenantctl server set %s --allow-database %s' if it belongs there (tenant credentials are probed against it either way)",
					db, name, name, db)
			}
		}
	}
}

// checkSharedRoles holds tenantctl's shared roles to the rules of tenant roles. Every
// tenant login is a member of tenantctl_logins and may SET ROLE to it: an attribute
// or a membership it holds is every customer's.
func (a *auditor) checkSharedRoles() {
	for name, s := range a.reachableServers() {
		for _, role := range []string{tenantdb.LoginsRole, tenantdb.TemplateOwnerRole} {
			r, ok := s.snap.Roles[role]
			if !ok {
				continue
			}
			a.serverEvaluated(s, CheckRoleShared)
			who := "tenantctl's login group " + role + ", to which every tenant login can SET ROLE,"
			if role == tenantdb.TemplateOwnerRole {
				who = "tenantctl's template owner " + role + ", which owns what every new tenant is cloned from,"
			}
			var issues roleIssues
			issues.add(r.Superuser, Critical, "SUPERUSER")
			issues.add(r.CreateRole, Critical, "CREATEROLE (it can create logins and grant itself into any tenant's roles)")
			issues.add(r.Replication, Critical, "REPLICATION")
			issues.add(r.CreateDB, High, "CREATEDB")
			issues.add(r.BypassRLS, High, "BYPASSRLS")
			issues.add(r.CanLogin, High, "LOGIN (it must be NOLOGIN)")
			if len(issues.list) > 0 {
				a.serverFinding(s, CheckRoleShared, issues.sev, false, nil, "%s has %s on server %s", who, issues.String(), name)
			}
			via := memberships(s, r)
			for _, g := range sortedRoles(via) {
				sev := High
				what := "role " + g
				switch {
				case predefinedCrossRoles[g]:
					sev, what = Critical, "the predefined role "+g+", which reaches across databases or the server"
				case g == s.cat.AdminRole:
					sev, what = Critical, "the admin role "+g+", which is a member of every tenant's roles"
				case tenantdb.LooksLikeTenant(g) || strings.HasPrefix(g, tenantdb.AccessPrefix):
					sev, what = Critical, g+" ("+a.tenantOfName(g)+")"
				}
				a.serverFinding(s, CheckRoleShared, sev, false, nil, "%s is a member of %s%s on server %s: shared roles must be members of nothing", who, what, through(via, g), name)
			}
		}
	}
}

// wrongPassword is one login the wrong-password probe tries.
type wrongPassword struct {
	user, db, kind string
}

// runServerProbes runs, per reachable server, the probes that are about the server
// rather than one tenant: a wrong password for each kind of role, and one tenant's
// credentials against every other connectable database. A handful of logins per
// server, one after another.
func (a *auditor) runServerProbes(ctx context.Context, plan map[string]probePlan) {
	if a.o.NoProbes {
		return
	}
	var names []string
	for name, s := range a.reachableServers() {
		if a.serverInScope(s) {
			names = append(names, name)
		}
	}
	fleet.Dispatch(ctx, names, func(name string) string { return name }, a.limits(),
		func(ctx context.Context, name string) struct{} {
			a.probeServer(ctx, a.servers[name], plan)
			return struct{}{}
		},
		func(string, struct{}) bool { return false })
}

func (a *auditor) probeServer(ctx context.Context, s *server, plan map[string]probePlan) {
	// The prober: the first planned tenant of the server (the plan is fixed by the seed).
	var prober *struct{ slug, id, pw string }
	for _, t := range a.audited {
		if _, ok := plan[t.ID]; !ok || t.Server != s.cat.Name {
			continue
		}
		pw, err := a.o.Store.Credential(ctx, t.ID, "app")
		if err != nil {
			continue // probe.own_database reports it
		}
		prober = &struct{ slug, id, pw string }{t.Slug, t.ID, pw}
		break
	}
	var tries []wrongPassword
	if prober != nil {
		tries = append(tries, wrongPassword{tenantdb.AppRole(prober.id), tenantdb.Database(prober.id), "the app role of tenant " + prober.slug})
		if a.ownerCreds[prober.id] {
			tries = append(tries, wrongPassword{tenantdb.OwnerRole(prober.id), tenantdb.Database(prober.id), "the owner role of tenant " + prober.slug})
		}
	}
	for _, t := range s.tenants {
		found := false
		for _, g := range a.access[t.ID] {
			if _, exists := s.snap.Roles[g.Role]; exists && tenantdb.IsAccessRole(g.Role, t.ID) && (g.ExpiresAt == nil || a.now.Before(*g.ExpiresAt)) {
				tries = append(tries, wrongPassword{g.Role, tenantdb.Database(t.ID), "an MSP access role of tenant " + t.Slug})
				found = true
				break
			}
		}
		if found {
			break
		}
	}
	tries = append(tries, wrongPassword{s.cat.AdminRole, "postgres", "the admin role"})
	supers := superusers(s)
	if !slices.Contains(supers, "postgres") {
		supers = append([]string{"postgres"}, supers...)
	}
	for _, su := range supers {
		tries = append(tries, wrongPassword{su, "postgres", "a superuser"})
	}
	a.serverEvaluated(s, CheckProbeWrongPassword)
	wrong := "wrong-" + secret.NewPassword()
	for _, w := range tries {
		if !a.serverProbe(ctx, s, CheckProbeWrongPassword, w.user, wrong, w.db,
			fmt.Sprintf("a wrong password logged in as %s (%s) to database %s on server %s: a pg_hba.conf rule lets it in without its password",
				w.user, w.kind, w.db, s.cat.Name),
			fmt.Sprintf("the wrong-password probe as %s (%s) on server %s proved nothing", w.user, w.kind, s.cat.Name)) {
			return
		}
	}
	if prober == nil {
		return
	}
	logins := []struct{ user, pw, kind string }{{tenantdb.AppRole(prober.id), prober.pw, "app role"}}
	if a.ownerCreds[prober.id] {
		if pw, err := a.o.Store.Credential(ctx, prober.id, catalog.OwnerCredential); err == nil {
			logins = append(logins, struct{ user, pw, kind string }{tenantdb.OwnerRole(prober.id), pw, "owner role"})
		}
	}
	for _, l := range logins {
		for _, db := range otherDatabases(s) {
			a.serverEvaluated(s, CheckProbeOtherDatabase)
			if !a.serverProbe(ctx, s, CheckProbeOtherDatabase, l.user, l.pw, db,
				fmt.Sprintf("the %s of tenant %s (%s) logged in to database %s on server %s, which is not a tenant's: whatever is there is open to tenant logins (the pg_hba.conf lines do not confine them there)",
					l.kind, prober.slug, l.user, db, s.cat.Name),
				fmt.Sprintf("the probe of database %s on server %s with the %s of tenant %s proved nothing", db, s.cat.Name, l.kind, prober.slug)) {
				return
			}
		}
	}
}

// serverProbe tries one login on s that must fail (user, password, db) and reports it
// under check: getting in is the Critical finding connected, an attempt that proved
// nothing the Medium finding inconclusive (with what the attempt saw). It returns false
// once ctx is done.
func (a *auditor) serverProbe(ctx context.Context, s *server, check, user, password, db, connected, inconclusive string) bool {
	res := a.serverAttempt(ctx, s, func() tenantdb.ProbeResult { return s.handle.Probe(ctx, user, password, db, a.o.ConnectTimeout) })
	switch {
	case ctx.Err() != nil:
		return false
	case res.Outcome == tenantdb.ProbeConnected:
		a.serverFinding(s, check, Critical, false, nil, "%s", connected)
	case res.Outcome == tenantdb.ProbeInconclusive:
		a.serverFinding(s, check, Medium, false, nil, "%s: %s", inconclusive, describe(res))
	}
	return true
}

// serverAttempt makes one login attempt on s within its connection bound and counts
// it (against no tenant: the server's own probes).
func (a *auditor) serverAttempt(ctx context.Context, s *server, try func() tenantdb.ProbeResult) tenantdb.ProbeResult {
	return a.login(ctx, "", s.sem, try)
}
