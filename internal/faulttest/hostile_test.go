package faulttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// hostileValues are inputs an attacker or a careless script might pass: SQL
// metacharacters and quotes, control bytes and ANSI escapes, very long strings, unicode
// look-alikes and invisible characters, path separators and shell syntax. (NUL cannot
// be passed in an argument at all; it is tried through files and stdin.)
var hostileValues = []string{
	"x'; DROP DATABASE postgres; --", `x"; DROP ROLE postgres; --`, `x\'); SELECT 1; --`, "x%' OR '1'='1",
	"x\ny", "x\r\nX-Injected: 1", "\x1b[31mred\x1b[0m", "x\x07\x08\x7f", "x\u202eevil",
	strings.Repeat("a", 5000), "аcme", "acme\u200b", "ａｃｍｅ", "../../../etc/passwd", "a/b", `a\b`,
	"$(touch /tmp/pwned)", "`id`", "${HOME}", "%s%n", " acme", "acme ", "-", "",
}

var emailAtext = regexp.MustCompile(`^[A-Za-z0-9.!#$%&*+/=?^_{|}~-]+$`)

// freeTextHostile are the hostile values a free-text field (display name, reason) must
// refuse; quotes and SQL metacharacters are legitimate text there (values are always
// parameters).
func freeTextHostile(v string) bool {
	return strings.ContainsAny(v, "\n\r\x1b\x07\x08\x7f\u202e") || len(v) > 500
}

// TestHostileInputChangesNothing passes every hostile value through every flag and
// argument that reaches SQL or a file; each must be refused with exit 2 and leave the
// catalog and both servers exactly as they were.
func TestHostileInputChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFleet(t, pgtest.Get(t).Servers[4:6]...)
	f.createTenant("victim")
	f.must("access", "grant", "alice", "--tenant", "victim", "--reason", "INC-5")
	before := f.state()

	dir := t.TempDir()
	type site struct {
		name     string
		freeText bool
		// emptyOK: an empty value means "the default" or "all" here, not bad input.
		emptyOK bool
		args    func(v string) []string
	}
	create := func(slug, name, domain string, extra ...string) []string {
		return append([]string{"tenant", "create", slug, "--name", name, "--domain", domain}, extra...)
	}
	sites := []site{
		{"tenant create SLUG", false, false, func(v string) []string { return create(v, "N", "n.example") }},
		{"tenant create --name", true, false, func(v string) []string { return create("okay-x", v, "n.example") }},
		{"tenant create --domain", false, false, func(v string) []string { return create("okay-x", "N", v) }},
		{"tenant create --server", false, true, func(v string) []string { return create("okay-x", "N", "n.example", "--server", v) }},
		{"tenant create --label", false, false, func(v string) []string { return create("okay-x", "N", "n.example", "--label", v) }},
		{"tenant create --label k=", false, true, func(v string) []string { return create("okay-x", "N", "n.example", "--label", "zone="+v) }},
		{"tenant create --contact-email", false, true, func(v string) []string { return create("okay-x", "N", "n.example", "--contact-email", v) }},
		{"tenant create --contact-email local", false, false, func(v string) []string {
			return create("okay-x", "N", "n.example", "--contact-email", v+"@n.example")
		}},
		{"tenant show", false, false, func(v string) []string { return []string{"tenant", "show", v} }},
		{"tenant dsn", false, false, func(v string) []string { return []string{"tenant", "dsn", v} }},
		{"tenant suspend", false, false, func(v string) []string { return []string{"tenant", "suspend", v} }},
		{"tenant rotate-credentials", false, false, func(v string) []string { return []string{"tenant", "rotate-credentials", v} }},
		{"tenant delete", false, false, func(v string) []string { return []string{"tenant", "delete", v, "--confirm", v} }},
		{"tenant delete --confirm", false, false, func(v string) []string { return []string{"tenant", "delete", "victim", "--confirm", v} }},
		{"tenant purge", false, false, func(v string) []string { return []string{"tenant", "purge", v, "--confirm", v} }},
		{"tenant purge --retention", false, false, func(v string) []string { return []string{"tenant", "purge", "--expired", "--retention", v} }},
		{"access grant LOGIN", false, false, func(v string) []string { return []string{"access", "grant", v, "--tenant", "victim"} }},
		{"access grant --tenant", false, false, func(v string) []string { return []string{"access", "grant", "bob", "--tenant", v} }},
		{"access grant --level", false, true, func(v string) []string { return []string{"access", "grant", "bob", "--tenant", "victim", "--level", v} }},
		{"access grant --expires", false, true, func(v string) []string {
			return []string{"access", "grant", "bob", "--tenant", "victim", "--expires", v}
		}},
		{"access grant --reason", true, false, func(v string) []string {
			return []string{"access", "grant", "bob", "--tenant", "victim", "--reason", v}
		}},
		{"access revoke LOGIN", false, false, func(v string) []string { return []string{"access", "revoke", v, "--tenant", "victim"} }},
		{"access dsn LOGIN", false, false, func(v string) []string { return []string{"access", "dsn", v, "--tenant", "victim"} }},
		{"server add NAME", false, false, func(v string) []string {
			return []string{"server", "add", v, "--dsn-file", filepath.Join(dir, "missing")}
		}},
		{"server add --label", false, false, func(v string) []string {
			return []string{"server", "add", "pg-z", "--dsn-file", filepath.Join(dir, "missing"), "--label", v}
		}},
		{"server add --clone-strategy", false, false, func(v string) []string {
			return []string{"server", "add", "pg-z", "--dsn-file", filepath.Join(dir, "missing"), "--clone-strategy", v}
		}},
		{"server drain", false, false, func(v string) []string { return []string{"server", "drain", v} }},
		{"server remove", false, false, func(v string) []string { return []string{"server", "remove", v} }},
		{"migrate up --tenant", false, true, func(v string) []string { return []string{"migrate", "up", "--tenant", v} }},
		{"migrate up --lock-timeout", false, true, func(v string) []string { return []string{"migrate", "up", "--lock-timeout", v} }},
		{"migrate up --statement-timeout", false, true, func(v string) []string { return []string{"migrate", "up", "--statement-timeout", v} }},
		{"migrate down --tenant", false, false, func(v string) []string { return []string{"migrate", "down", "--tenant", v} }},
		{"rollup run --tenant", false, true, func(v string) []string { return []string{"rollup", "run", "--tenant", v} }},
		{"audit --tenant", false, true, func(v string) []string { return []string{"audit", "--tenant", v} }},
		{"events --tenant", false, true, func(v string) []string { return []string{"events", "--tenant", v} }},
		{"--log-level", false, true, func(v string) []string { return []string{"tenant", "list", "--log-level", v} }},
	}
	// Files that reach SQL: a rollup spec naming hostile tables and keys (NUL included).
	specs := 0
	for _, v := range append(hostileValues, "x\x00y") {
		for _, body := range []string{
			fmt.Sprintf("tables:\n  - name: %q\n    key: [id]\n", v),
			fmt.Sprintf("tables:\n  - name: users\n    key: [%q]\n", v),
		} {
			p := filepath.Join(dir, fmt.Sprintf("spec-%d.yaml", specs))
			require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
			specs++
			v := p
			sites = append(sites, site{fmt.Sprintf("rollup run --rollup-spec #%d", specs), false, false,
				func(string) []string { return []string{"rollup", "run", "--rollup-spec", v} }})
		}
	}

	type trial struct {
		site  site
		value string
	}
	var trials []trial
	seenFile := map[string]bool{}
	for _, s := range sites {
		for _, v := range hostileValues {
			if s.freeText && !freeTextHostile(v) || s.emptyOK && v == "" {
				continue
			}
			if s.name == "tenant create --contact-email local" && emailAtext.MatchString(v) {
				continue // a valid (if odd) mailbox name: '/', '$', '%' and '-' are allowed there
			}
			if strings.HasPrefix(s.name, "rollup run --rollup-spec") {
				if seenFile[s.name] {
					continue
				}
				seenFile[s.name] = true
			}
			trials = append(trials, trial{s, v})
		}
	}
	// NUL through stdin: a DSN and a catalog key.
	var mu sync.Mutex
	var failures []string
	work := make(chan trial)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for tr := range work {
				args := tr.site.args(tr.value)
				r := f.runEnv("", nil, args...)
				if r.code != 2 {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s = %q: exit %d\n%s", tr.site.name, tr.value, r.code, r.stderr))
					mu.Unlock()
				}
			}
		})
	}
	for _, tr := range trials {
		work <- tr
	}
	close(work)
	wg.Wait()
	nul := f.runEnv("postgres://u:p@127.0.0.1:5432/x\x00y\n", nil, "server", "add", "pg-z", "--dsn", "-")
	if nul.code != 2 {
		failures = append(failures, fmt.Sprintf("server add --dsn - with NUL: exit %d\n%s", nul.code, nul.stderr))
	}
	require.Empty(t, failures, "every hostile input must be refused with exit 2")
	require.Equal(t, before, f.state(), "hostile input changed nothing in the catalog or on the servers")
	t.Logf("hostile inputs: %d tried through %d flags and arguments (plus NUL through stdin), every one refused with exit 2, nothing changed",
		len(trials)+1, len(sites))
}

// state is everything a refused command must leave as it was: the catalog's tenants,
// servers, grants, events and jobs, and every database and role on the fleet's servers.
func (f *fleet) state() string {
	f.t.Helper()
	var b strings.Builder
	for _, args := range [][]string{
		{"tenant", "list", "-o", "json"}, {"server", "list", "-o", "json"}, {"access", "list", "-o", "json"},
		{"events", "--limit", "100000", "-o", "json"}, {"jobs", "--limit", "100000", "-o", "json"},
	} {
		b.WriteString(f.must(args...))
	}
	ctx := context.Background()
	for i := range f.servers {
		conn := f.serverConn(i, "postgres")
		var names []string
		require.NoError(f.t, conn.QueryRow(ctx, `SELECT array_agg(n ORDER BY n) FROM (
			SELECT 'db:' || datname || ':' || coalesce(datacl::text, '') AS n FROM pg_database
			UNION ALL SELECT 'role:' || rolname || ':' || rolcanlogin || ':' || coalesce(rolvaliduntil::text, '') FROM pg_roles) x`).Scan(&names))
		conn.Close(ctx)
		b.WriteString(strings.Join(names, "\n"))
	}
	return b.String()
}
