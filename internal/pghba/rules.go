package pghba

import (
	"fmt"
	"slices"
	"strings"
)

// Rule is one line of a server's effective pg_hba.conf, as the view pg_hba_file_rules
// shows it: names unquoted, groups with their leading "+".
type Rule struct {
	Line     int      `json:"line"`
	Type     string   `json:"type"`
	Database []string `json:"database"`
	User     []string `json:"user"`
	// Address is "" on local lines, "all", "samehost", "samenet", a host name or an IP.
	Address string `json:"address,omitempty"`
	Netmask string `json:"netmask,omitempty"`
	Method  string `json:"method"`
	// Error is why the server could not read the line ("" when it could).
	Error string `json:"error,omitempty"`
}

// String writes the rule like a pg_hba.conf line.
func (r Rule) String() string {
	addr := r.Address
	if r.Netmask != "" {
		addr += "/" + r.Netmask
	}
	s := strings.TrimSpace(fmt.Sprintf("%s %s %s %s %s", r.Type, strings.Join(r.Database, ","), strings.Join(r.User, ","), addr, r.Method))
	s = strings.Join(strings.Fields(s), " ")
	if r.Line > 0 {
		return fmt.Sprintf("line %d (%s)", r.Line, s)
	}
	return s
}

// Expected returns the rules [Lines] prints, as pg_hba_file_rules shows them.
func Expected(adminRole, method string) []Rule {
	var out []Rule
	for _, row := range Rows(adminRole, method) {
		r := Rule{Type: row[0], Address: row[3], Method: row[4]}
		for _, d := range strings.Split(row[1], ",") {
			r.Database = append(r.Database, unquote(d))
		}
		r.User = []string{unquoteGroup(row[2])}
		out = append(out, r)
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return s
}

func unquoteGroup(s string) string {
	if strings.HasPrefix(s, "+") {
		return "+" + unquote(s[1:])
	}
	return unquote(s)
}

// same reports whether the server's rule is the expected one (line numbers and
// netmasks aside).
func same(got, want Rule) bool {
	return got.Type == want.Type && slices.Equal(got.Database, want.Database) && slices.Equal(got.User, want.User) &&
		got.Address == want.Address && got.Method == want.Method && got.Error == ""
}

// findBlock returns the index of the first rule of want in rules, placed one after
// another, or -1.
func findBlock(rules, want []Rule) int {
	for i := 0; i+len(want) <= len(rules); i++ {
		ok := true
		for j := range want {
			if !same(rules[i+j], want[j]) {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

// legacyRows are the lines tenantctl printed before it rejected the replication
// pseudo-database and the databases named like its shared roles.
func legacy(adminRole, method string) []Rule {
	all := Expected(adminRole, method)
	return []Rule{all[0], all[1], all[4], all[5], all[6], all[7]}
}

// GrantSQL returns the statements a superuser runs so that role may read the server's
// effective rules (pg_hba_file_rules and the function behind it are superuser-only by
// default). They give no other privilege.
func GrantSQL(role string) string {
	r := `"` + strings.ReplaceAll(role, `"`, `""`) + `"`
	return "GRANT SELECT ON pg_catalog.pg_hba_file_rules TO " + r + "; GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO " + r + ";"
}

// adminMethod is the method of the first local line for the admin role alone on every
// database, when it is one [Lines] accepts ("" otherwise: scram-sha-256 is expected).
func adminMethod(rules []Rule, adminRole string) string {
	for _, r := range rules {
		if r.Type == "local" && slices.Equal(r.Database, []string{"all"}) && slices.Equal(r.User, []string{adminRole}) {
			if slices.Contains(Methods, r.Method) {
				return r.Method
			}
			return ""
		}
	}
	return ""
}

// Severities of [Finding]s (the audit's words).
const (
	Critical = "critical"
	High     = "high"
	Medium   = "medium"
)

// Finding is one thing about a server's effective rules that lets a login in where
// tenantctl's lines would not, or lets one in without its password.
type Finding struct {
	Severity string `json:"severity"`
	// Rule is the server's rule the finding is about (zero when it is about the
	// lines as a whole).
	Rule   Rule   `json:"rule"`
	Detail string `json:"detail"`
	// TenantLogins is true when the rule reaches tenant or MSP access logins (every
	// tenant of the server is exposed), false when it reaches other roles (a
	// superuser, the admin: every tenant too, by another door).
	TenantLogins bool `json:"tenant_logins"`
	// Unverified is true when the finding means the effective rules are unknown (a
	// line the server cannot read: it keeps running the file it loaded before).
	Unverified bool `json:"unverified,omitempty"`
}

// CheckOptions say what [Check] compares the rules with.
type CheckOptions struct {
	AdminRole string
	// AdminMethod is the method of the admin's lines ("": scram-sha-256, or any of
	// [Methods] as found on the server).
	AdminMethod string
	// Superusers are the server's superuser roles that can log in: a rule that lets
	// one of them in without a password gives whoever reaches the server everything.
	Superusers []string
}

// Analysis is what [Check] found.
type Analysis struct {
	// Block is the index in the rules of the first of tenantctl's lines (-1: absent).
	Block int `json:"block"`
	// Legacy is true when the lines found are those of an older tenantctl, which did
	// not reject the replication pseudo-database and the shared roles' databases.
	Legacy   bool      `json:"legacy"`
	Findings []Finding `json:"findings"`
}

// Clean reports whether the rules hold tenantctl's current lines and nothing that
// opens a door around them.
func (a Analysis) Clean() bool { return a.Block >= 0 && !a.Legacy && len(a.Findings) == 0 }

// passwordless describes how a method lets a login in without its password ("" when
// it asks for one or rejects).
func passwordless(r Rule) string {
	switch r.Method {
	case "trust":
		return "without any password (trust)"
	case "ident":
		// On local lines ident is peer: the operating-system user of the same name on
		// the server's host, which no customer is. Over the network it is the client
		// host's word.
		if r.Type != "local" {
			return "without a password, on the word of the client host's ident server (ident)"
		}
	}
	return ""
}

// matchesTenantLogins reports whether a rule's user field can match a tenant or MSP
// access login: all, the login group, a tenant-named role or group (t_...) or an MSP
// access role (msp_...).
func matchesTenantLogins(r Rule) bool {
	for _, u := range r.User {
		name := strings.TrimPrefix(u, "+")
		// "/..." is a regular expression (PostgreSQL 16): assume it can.
		if u == "all" || strings.HasPrefix(u, "/") || name == LoginsRole || strings.HasPrefix(name, "t_") || strings.HasPrefix(name, "msp_") {
			return true
		}
	}
	return false
}

// matchesAny returns the first of roles a rule's user field names (directly; "all"
// matches every one).
func matchesAny(r Rule, roles []string) string {
	for _, u := range r.User {
		if u == "all" && len(roles) > 0 {
			return roles[0]
		}
		if slices.Contains(roles, u) {
			return u
		}
	}
	return ""
}

// Check compares a server's effective rules (pg_hba_file_rules, in order) with the
// lines of [Lines] and reports every rule that is not tenantctl's and matters:
//
//   - tenantctl's lines missing (tenant logins are not confined) or from an older
//     tenantctl (the replication pseudo-database and databases named like shared
//     roles are not rejected);
//   - a rule before them that can match a tenant or MSP access login (all,
//     +tenantctl_logins, t_..., msp_...) and does not reject it: critical, those
//     logins are not confined;
//   - a rule anywhere that lets a tenant login, the admin or a superuser in without a
//     password (trust; ident over the network): critical over the network, high for
//     local lines (anyone with a shell on the server's host); peer is not reported; after tenantctl's lines a tenant login reaches it only when it is taken
//     out of tenantctl_logins;
//   - with older lines, a rule after them that opens the replication pseudo-database
//     to tenant logins;
//   - a line the server cannot read: the server keeps running the file it loaded
//     before, so the effective rules are unverified.
func Check(rules []Rule, o CheckOptions) Analysis {
	if o.AdminMethod == "" {
		o.AdminMethod = adminMethod(rules, o.AdminRole)
	}
	an := Analysis{Block: findBlock(rules, Expected(o.AdminRole, o.AdminMethod))}
	want := len(Expected(o.AdminRole, o.AdminMethod))
	if an.Block < 0 {
		if i := findBlock(rules, legacy(o.AdminRole, o.AdminMethod)); i >= 0 {
			an.Block, an.Legacy, want = i, true, len(legacy(o.AdminRole, o.AdminMethod))
			an.Findings = append(an.Findings, Finding{Severity: High, TenantLogins: true,
				Detail: "the server's pg_hba.conf holds the lines of an older tenantctl: they do not reject the replication pseudo-database and the databases named like tenantctl's shared roles (" +
					strings.Join(SharedRoles(o.AdminRole), ", ") + "), which samerole opens to every tenant login; replace them with the lines 'tenantctl server hba' prints now"})
		} else {
			an.Findings = append(an.Findings, Finding{Severity: Critical, TenantLogins: true,
				Detail: "the lines 'tenantctl server hba' prints are not in the server's pg_hba.conf (or not one after another, or altered): tenant logins are not confined to their own database"})
		}
	}
	privileged := append([]string{}, o.Superusers...)
	if o.AdminRole != "" {
		privileged = append(privileged, o.AdminRole)
	}
	for i, r := range rules {
		if an.Block >= 0 && i >= an.Block && i < an.Block+want {
			continue
		}
		if r.Error != "" {
			an.Findings = append(an.Findings, Finding{Severity: High, Rule: r, Unverified: true,
				Detail: fmt.Sprintf("line %d of pg_hba.conf cannot be read by the server (%s): a reload keeps the rules it loaded before, which cannot be inspected, so the effective rules are unverified", r.Line, r.Error)})
			continue
		}
		if r.Method == "reject" {
			continue
		}
		before := an.Block < 0 || i < an.Block
		local := r.Type == "local"
		open := passwordless(r)
		tenant := matchesTenantLogins(r)
		switch {
		case tenant && before && an.Block >= 0:
			f := Finding{Severity: Critical, Rule: r, TenantLogins: true,
				Detail: fmt.Sprintf("%s comes before tenantctl's lines and matches tenant logins: they are not confined to their own database there", r)}
			if open != "" {
				f.Detail += ", and they log in " + open
			}
			an.Findings = append(an.Findings, f)
			continue
		case tenant && open != "" && matchesAny(r, privileged) == "":
			sev := Critical
			where := "tenant logins"
			if !before {
				sev, where = High, "a tenant login taken out of "+LoginsRole+" (or any role named like a tenant)"
			}
			if local { // a shell on the server's host, not the network
				sev = High
			}
			an.Findings = append(an.Findings, Finding{Severity: sev, Rule: r, TenantLogins: true,
				Detail: fmt.Sprintf("%s lets %s log in %s", r, where, open)})
			continue
		case an.Legacy && !before && slices.Contains(r.Database, "replication") && tenant:
			an.Findings = append(an.Findings, Finding{Severity: High, Rule: r, TenantLogins: true,
				Detail: fmt.Sprintf("%s opens the replication pseudo-database to tenant logins, which the older tenantctl lines do not reject (harmless only while no tenant role has REPLICATION)", r)})
			continue
		}
		if who := matchesAny(r, privileged); who != "" && open != "" {
			sev := Critical
			if local {
				sev = High // a shell on the server's host, not the network
			}
			subject := "role " + who
			if slices.Contains(r.User, "all") {
				subject = "every role (superuser " + who + " and the admin included)"
				if !slices.Contains(o.Superusers, who) {
					subject = "every role (the admin " + who + " included)"
				}
			}
			an.Findings = append(an.Findings, Finding{Severity: sev, Rule: r, TenantLogins: tenant,
				Detail: fmt.Sprintf("%s lets %s log in %s: whoever can reach it gets every tenant's data", r, subject, open)})
		}
	}
	return an
}

// Diff lists, for 'tenantctl server hba --check', how the server's rules differ from
// the lines [Lines] prints: the printed lines it lacks and every finding of [Check].
func Diff(rules []Rule, o CheckOptions) []string {
	if o.AdminMethod == "" {
		o.AdminMethod = adminMethod(rules, o.AdminRole)
	}
	an := Check(rules, o)
	var out []string
	if an.Block < 0 || an.Legacy {
		for _, w := range Expected(o.AdminRole, o.AdminMethod) {
			found := false
			for _, r := range rules {
				found = found || same(r, w)
			}
			if !found {
				out = append(out, "missing: "+w.String())
			}
		}
	}
	for _, f := range an.Findings {
		out = append(out, f.Severity+": "+f.Detail)
	}
	return out
}
