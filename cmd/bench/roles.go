package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/localpg"
)

// The "roles" section measures what one new session costs — connect, then the first
// query on a tenant table — for every role tenantctl could use, as the number of
// tenant-like roles on the server grows. It runs on its own throwaway cluster (it needs
// no tenantctl binary), so `BENCH_SECTIONS=roles make bench` is quick.
//
// Each simulated tenant i has, like a real one, a NOLOGIN group t_<i>, an owner role and a
// LOGIN app role, both members of the group; the app role is in tenantctl_logins. One
// tenant database (t_0) holds a table owned by its owner, closed to PUBLIC like a
// tenant's; t_0a is the same with CONNECT granted to the admin in its own name. The
// server's pg_hba.conf has the confinement lines. Two layouts are measured at every size:
//   - memberships: the admin is a member of every owner and app role (2 per tenant), as
//     fleets made before the owner-login design are;
//   - owner login: the admin holds no membership in tenant roles; the owner logs in
//     with its own password (member of t_<i> and tenantctl_logins, confined like the app).
//
// Sizes: BENCH_ROLE_TENANTS (comma-separated, default "100,1000"; BENCH_TENANTS_PER_SERVER
// adds its value), BENCH_ROLE_SESSIONS (sessions per role and size, default 20).

// roleCase is one way of opening a session and running the first query.
type roleCase struct {
	name  string
	user  string
	db    string // the database to connect to (default t_0)
	setup string // run right after connecting (e.g. SET ROLE)
	query string
	// finish runs on the same session after the query (counted in the time).
	finish string
	// after runs on a second admin session, open beforehand, once the query is done
	// (counted in the time).
	after string
}

func roleSizes() []int {
	spec := os.Getenv("BENCH_ROLE_TENANTS")
	if spec == "" {
		spec = "100,1000"
	}
	var out []int
	seen := map[int]bool{}
	for _, f := range strings.Split(spec, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err == nil && n > 0 && !seen[n] {
			out, seen[n] = append(out, n), true
		}
	}
	if n := envInt("BENCH_TENANTS_PER_SERVER", 0); n > 0 && !seen[n] {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// roleCost is the "roles" section.
func roleCost(ctx context.Context, rep *report, logf func(string, ...any)) error {
	dir, err := os.MkdirTemp("", "tenantctl-bench-roles-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	const admin, pw = "tenantctl_admin", "bench-role-pw"
	c, err := localpg.Init(ctx, localpg.Options{Dir: filepath.Join(dir, "pg"), Fast: true,
		HBA: "host all tenantctl_admin 127.0.0.1/32 scram-sha-256\n" +
			"host all postgres 127.0.0.1/32 scram-sha-256\n" +
			"host samerole +tenantctl_logins 127.0.0.1/32 scram-sha-256\n" +
			"host all +tenantctl_logins 127.0.0.1/32 reject\n"})
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	defer func() { _ = c.Remove(context.WithoutCancel(ctx)) }()
	sessions := envInt("BENCH_ROLE_SESSIONS", 20)
	dsn := func(user, password string) string {
		return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/t_0?sslmode=disable", user, password, c.Port)
	}
	dsnTo := func(user, password, db string) string {
		if db == "" {
			return dsn(user, password)
		}
		return strings.Replace(dsn(user, password), "/t_0?", "/"+db+"?", 1)
	}
	if err := superExec(ctx, c, "postgres",
		`CREATE ROLE tenantctl_admin LOGIN CREATEDB CREATEROLE PASSWORD '`+pw+`'`,
		`CREATE ROLE tenantctl_logins NOLOGIN`); err != nil {
		return err
	}
	made := 0
	grow := func(n int) error {
		conn, err := pgx.Connect(ctx, c.DSN("postgres"))
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		for made < n {
			end := min(n, made+250)
			var b strings.Builder
			b.WriteString("BEGIN;")
			for i := made; i < end; i++ {
				fmt.Fprintf(&b, "CREATE ROLE t_%d NOLOGIN; CREATE ROLE t_%d_owner NOLOGIN IN ROLE t_%d;", i, i, i)
				fmt.Fprintf(&b, "CREATE ROLE t_%d_app LOGIN IN ROLE t_%d, tenantctl_logins;", i, i)
			}
			b.WriteString("COMMIT;")
			if _, err := conn.Exec(ctx, b.String()); err != nil {
				return err
			}
			made = end
		}
		return nil
	}
	if err := grow(1); err != nil {
		return err
	}
	if err := superExec(ctx, c, "postgres",
		`ALTER ROLE t_0_owner LOGIN PASSWORD '`+pw+`'`, `ALTER ROLE t_0_app PASSWORD '`+pw+`'`,
		`GRANT tenantctl_logins TO t_0_owner`,
		`CREATE DATABASE t_0 OWNER t_0_owner`,
		// Closed to PUBLIC like a tenant's; t_0a is the same with a CONNECT grant of the
		// admin's own, so that connecting finds the admin's right without a membership.
		`REVOKE ALL ON DATABASE t_0 FROM PUBLIC`, `GRANT CONNECT ON DATABASE t_0 TO t_0_app`,
		`CREATE DATABASE t_0a OWNER t_0_owner`,
		`REVOKE ALL ON DATABASE t_0a FROM PUBLIC`, `GRANT CONNECT ON DATABASE t_0a TO t_0_app, `+admin); err != nil {
		return err
	}
	for _, db := range []string{"t_0", "t_0a"} {
		if err := superExec(ctx, c, db,
			`SET ROLE t_0_owner`,
			`CREATE TABLE items (id bigint PRIMARY KEY, v text)`,
			`INSERT INTO items SELECT g, 'x' FROM generate_series(1, 100) g`,
			`GRANT SELECT ON items TO t_0_app`); err != nil {
			return err
		}
	}
	const q = `SELECT count(*) FROM items`
	const catalogQuery = `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`
	super := roleCase{name: "superuser", user: c.User, query: q}
	memberCases := []roleCase{
		super,
		{name: "admin, member of every tenant role", user: admin, query: q},
		{name: "admin, member + SET ROLE owner", user: admin, setup: `SET ROLE t_0_owner`, query: q},
		{name: "owner logging in", user: "t_0_owner", query: q},
		{name: "app logging in", user: "t_0_app", query: q},
		// What the audit and reconcile do in a tenant database: catalog reads only.
		{name: "admin, member, catalog query", user: admin, query: catalogQuery},
		{name: "admin, member, catalog query, its own CONNECT on the database", user: admin, db: "t_0a", query: catalogQuery},
	}
	flatCases := []roleCase{
		super,
		{name: "admin, no membership (catalog query)", user: admin, db: "t_0a", query: `SELECT count(*) FROM pg_database WHERE datname = 't_0'`},
		{name: "owner logging in", user: "t_0_owner", query: q},
		{name: "app logging in", user: "t_0_app", query: q},
		{name: "admin, transient GRANT + SET LOCAL ROLE in one transaction", user: admin, db: "t_0a",
			setup: `BEGIN; GRANT t_0_owner TO tenantctl_admin; SET LOCAL ROLE t_0_owner`, query: q},
		// What tenantctl does for hardening, the domain, access grants (tenantdb's
		// withMembership + SET LOCAL ROLE): the whole transaction, grant to commit.
		{name: "admin, tenantctl's transient membership: GRANT, SET LOCAL ROLE, work, REVOKE, COMMIT", user: admin, db: "t_0a",
			setup: `BEGIN; GRANT t_0_owner TO tenantctl_admin; SET LOCAL ROLE t_0_owner`, query: q,
			finish: `RESET ROLE; REVOKE t_0_owner FROM tenantctl_admin; COMMIT`},
		{name: "admin, committed GRANT + SET ROLE in one transaction, REVOKE from a second session", user: admin, db: "t_0a",
			setup: `BEGIN; GRANT t_0_owner TO tenantctl_admin; SET ROLE t_0_owner; COMMIT`, query: q,
			after: `REVOKE t_0_owner FROM tenantctl_admin`},
	}
	password := func(user string) string {
		if user == c.User {
			return c.Password
		}
		return pw
	}
	// measure runs the cases interleaved (one session of each in turn), so background
	// load falls on all of them alike, and returns the median per case.
	measure := func(cases []roleCase) (map[string][]time.Duration, error) {
		side, err := pgx.Connect(ctx, strings.Replace(dsn(admin, pw), "/t_0?", "/postgres?", 1))
		if err != nil {
			return nil, err
		}
		defer side.Close(context.WithoutCancel(ctx))
		got := map[string][]time.Duration{}
		for s := 0; s < sessions+1; s++ {
			for _, rc := range cases {
				start := time.Now()
				conn, err := pgx.Connect(ctx, dsnTo(rc.user, password(rc.user), rc.db))
				if err != nil {
					return nil, fmt.Errorf("%s: %w", rc.name, err)
				}
				if rc.setup != "" {
					if _, err := conn.Exec(ctx, rc.setup); err != nil {
						conn.Close(ctx)
						return nil, fmt.Errorf("%s: %w", rc.name, err)
					}
				}
				var n int64
				err = conn.QueryRow(ctx, rc.query).Scan(&n)
				if err == nil && rc.finish != "" {
					_, err = conn.Exec(ctx, rc.finish)
				}
				conn.Close(ctx)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", rc.name, err)
				}
				if rc.after != "" {
					if _, err := side.Exec(ctx, rc.after); err != nil {
						return nil, fmt.Errorf("%s: %w", rc.name, err)
					}
				}
				if s > 0 { // the first round warms the server's caches
					got[rc.name] = append(got[rc.name], time.Since(start))
				}
			}
		}
		return got, nil
	}
	record := func(layout string, n int, cases []roleCase, got map[string][]time.Duration) {
		superP50 := percentile(got[super.name], 0.5)
		for _, rc := range cases {
			d := got[rc.name]
			m := rep.add(measurement{Section: "roles", Name: fmt.Sprintf("%s — %s, %d tenants", layout, rc.name, n),
				Ops: len(d), P50MS: ms(percentile(d, 0.5)), P95MS: ms(percentile(d, 0.95)), TotalMS: ms(sum(d))})
			ratio := float64(percentile(d, 0.5)) / float64(superP50)
			logf("roles %-12s %5d tenants %-40s p50 %6.1f ms  %.2f× superuser", layout, n, rc.name, m.P50MS, ratio)
			if rc.name != super.name {
				rep.RoleRows = append(rep.RoleRows, roleRow{Layout: layout, Tenants: n, Role: rc.name,
					P50MS: m.P50MS, SuperP50MS: ms(superP50), Ratio: ratio})
			}
		}
	}
	// lifecycle times the server-level operations that need the owner's rights, each in a
	// new admin session as a tenantctl process would: create (roles, database owned by
	// the owner) and drop, 5 tenants per layout and size.
	lifecycle := func(layout string, n int, legacy bool) error {
		var creates, drops []time.Duration
		for k := 0; k < 5; k++ {
			id := fmt.Sprintf("x_%d_%d_%d", n, k, map[bool]int{true: 1, false: 0}[legacy])
			owner, app := id+"_owner", id+"_app"
			var create, drop []string
			if legacy {
				create = []string{"CREATE ROLE " + owner + " NOLOGIN", "CREATE ROLE " + app + " LOGIN",
					"GRANT " + owner + ", " + app + " TO " + admin,
					"CREATE DATABASE " + id + " OWNER " + owner + " TEMPLATE template0 STRATEGY FILE_COPY"}
				drop = []string{"DROP DATABASE " + id, "DROP ROLE " + app, "DROP ROLE " + owner}
			} else {
				grant, revoke := "GRANT "+owner+" TO "+admin, "REVOKE "+owner+" FROM "+admin
				create = []string{"CREATE ROLE " + owner + " LOGIN", "CREATE ROLE " + app + " LOGIN",
					"CREATE DATABASE " + id + " TEMPLATE template0 STRATEGY FILE_COPY",
					"BEGIN; " + grant + "; ALTER DATABASE " + id + " OWNER TO " + owner + "; " + revoke + "; COMMIT"}
				drop = []string{"BEGIN; " + grant + "; ALTER DATABASE " + id + " OWNER TO " + admin + "; " + revoke + "; COMMIT",
					"DROP DATABASE " + id, "DROP ROLE " + app, "DROP ROLE " + owner}
			}
			for _, op := range []struct {
				stmts []string
				into  *[]time.Duration
			}{{create, &creates}, {drop, &drops}} {
				start := time.Now()
				conn, err := pgx.Connect(ctx, strings.Replace(dsn(admin, pw), "/t_0?", "/postgres?", 1))
				if err != nil {
					return err
				}
				for _, st := range op.stmts {
					if _, err := conn.Exec(ctx, st); err != nil {
						conn.Close(ctx)
						return fmt.Errorf("%s: %w", st, err)
					}
				}
				conn.Close(ctx)
				*op.into = append(*op.into, time.Since(start))
			}
		}
		for _, m := range []struct {
			what string
			d    []time.Duration
		}{{"create roles + database owned by the owner", creates}, {"drop database + roles", drops}} {
			rep.add(measurement{Section: "roles", Name: fmt.Sprintf("%s — admin session: %s, %d tenants", layout, m.what, n),
				Ops: len(m.d), P50MS: ms(percentile(m.d, 0.5)), P95MS: ms(percentile(m.d, 0.95)), TotalMS: ms(sum(m.d))})
			logf("roles %-12s %5d tenants admin session: %-42s p50 %6.1f ms", layout, n, m.what, ms(percentile(m.d, 0.5)))
		}
		return nil
	}
	for _, n := range roleSizes() {
		logf("roles: %d tenant-like role sets", n)
		if err := grow(n); err != nil {
			return err
		}
		// The legacy layout: the admin is a member of 2n roles.
		if err := superExec(ctx, c, "postgres", grantAll(admin, n, true)); err != nil {
			return err
		}
		got, err := measure(memberCases)
		if err != nil {
			return err
		}
		record("memberships", n, memberCases, got)
		if err := lifecycle("memberships", n, true); err != nil {
			return err
		}
		// The owner-login layout: no standing membership.
		if err := superExec(ctx, c, "postgres", grantAll(admin, n, false)); err != nil {
			return err
		}
		if got, err = measure(flatCases); err != nil {
			return err
		}
		record("owner login", n, flatCases, got)
		if err := lifecycle("owner login", n, false); err != nil {
			return err
		}
	}
	return nil
}

// grantAll grants (or revokes) every tenant's owner and app role to the admin in one
// statement.
func grantAll(admin string, n int, grant bool) string {
	roles := make([]string, 0, 2*n)
	for i := 0; i < n; i++ {
		roles = append(roles, fmt.Sprintf("t_%d_owner", i), fmt.Sprintf("t_%d_app", i))
	}
	if grant {
		return "GRANT " + strings.Join(roles, ", ") + " TO " + admin
	}
	return "REVOKE " + strings.Join(roles, ", ") + " FROM " + admin
}

// roleRow is one line of the report's role table.
type roleRow struct {
	Layout     string  `json:"layout"`
	Tenants    int     `json:"tenants"`
	Role       string  `json:"role"`
	P50MS      float64 `json:"p50_ms"`
	SuperP50MS float64 `json:"superuser_p50_ms"`
	Ratio      float64 `json:"ratio_to_superuser"`
}
