package faulttest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// moreCases are the kill cases of the warm pool, moves (both methods), evacuate, import,
// export and key rotation.
func moreCases() []killCase {
	return []killCase{
		// The warm pool of pg-a: built up one spare per kill, dropped back one per kill,
		// then claimed from; emptied at the end, so the group's fleet creates tenants
		// from the template again afterwards.
		{
			// Every point even in `make test`: pool drop needs the spares all four build.
			name: "pool refill", group: "pool", whole: true,
			points: []string{"pool.spare.after-record", "pool.spare.after-roles", "pool.spare.after-database", "pool.spare.after-harden"},
			setup: func(f *fleet, _ string) []string {
				f.must("server", "set", "pg-a", "--spares", strconv.Itoa(f.server("pg-a").Spares+1))
				return []string{"server", "refill", "pg-a"}
			},
			rerun: rerunSame,
		},
		{
			name: "pool drop", group: "pool",
			points: []string{"pool.drop.after-retire", "pool.drop.after-database", "pool.drop.after-roles"},
			setup: func(f *fleet, _ string) []string {
				f.must("server", "set", "pg-a", "--spares", strconv.Itoa(max(1, f.server("pg-a").Spares-1)))
				return []string{"server", "refill", "pg-a"}
			},
			rerun: rerunSame,
		},
		{
			name: "pool claim", group: "pool",
			points: []string{"pool.claim.after-claim", "pool.claim.after-domain", "pool.claim.after-activate"},
			setup: func(f *fleet, slug string) []string {
				require.Positive(f.t, f.server("pg-a").SparesReady, "a spare to claim (reconcile refills the pool)")
				return createArgs(slug, "--server", "pg-a")
			},
			rerun: rerunCreate,
			check: func(f *fleet, slug string) {
				if tn := f.tenant(slug); tn.State == "active" {
					f.fill(slug, 1) // a tenant made from a spare takes writes like any other
				}
			},
			teardown: func(f *fleet) {
				f.must("server", "set", "pg-a", "--spares", "0")
				f.must("server", "refill")
			},
		},

		// Method dump: one tenant moved back and forth, killed at every point.
		{
			name: "move", shared: true,
			points: []string{"move.planned.after-record", "move.suspended.before-record", "move.suspended.after-record",
				"move.target-roles.before-record", "move.target-roles.after-record", "move.copying.after-record",
				"move.copied.before-record", "move.copied.after-record", "move.hardened.before-record", "move.hardened.after-record",
				"move.verified.after-record", "move.switched.after-record", "move.resumed.after-login", "move.resumed.before-record",
				"move.resumed.after-record", "move.source.after-drop"},
			setup: func(f *fleet, slug string) []string { return f.moveArgs(slug, "dump") },
			rerun: rerunMove,
			check: func(f *fleet, _ string) { f.assertDataIntact() },
		},
		{
			// Reconcile rolls back an interrupted move: killed while settling it.
			name: "move reconcile", shared: true, group: "move",
			points: []string{"move.reconcile.after-settle", "move.rollback.after-target", "move.rollback.after-source"},
			setup: func(f *fleet, slug string) []string {
				f.killAt("move.copied.after-record", f.moveArgs(slug, "dump")...)
				return []string{"reconcile"}
			},
			rerun: rerunSame,
			check: func(f *fleet, _ string) { f.assertDataIntact() },
		},

		// Method logical, on servers with wal_level = logical.
		{
			name: "move --method logical", shared: true, fleet: "logical",
			points: []string{"move.subscribed.after-publication", "move.subscribed.before-record", "move.subscribed.after-record",
				"move.synced.after-record", "move.caught-up.before-record", "move.caught-up.after-record",
				"move.detached.before-record", "move.replication.after-drop-subscription", "move.detached.after-record"},
			setup: func(f *fleet, slug string) []string { return f.moveArgs(slug, "logical") },
			rerun: rerunMove,
			check: func(f *fleet, _ string) { f.assertDataIntact() },
		},

		{
			// Evacuate the server holding most tenants, at once to the other.
			name:   "evacuate",
			points: []string{"evacuate.after-drain", "evacuate.after-move:1"},
			setup: func(f *fleet, slug string) []string {
				for _, s := range []string{"pg-a", "pg-b"} {
					f.must("server", "undrain", s)
				}
				on := map[string]int{}
				for _, tn := range f.tenants() {
					if tn.State == "active" || tn.State == "suspended" {
						on[tn.Server]++
					}
				}
				from := "pg-a"
				if on["pg-b"] > on["pg-a"] {
					from = "pg-b"
				}
				f.createTenant(slug, "--server", from) // at least two tenants to move
				f.rememberData()
				return []string{"server", "evacuate", from, "--keep-source", "0"}
			},
			rerun: rerunSame,
			check: func(f *fleet, _ string) { f.assertDataIntact() },
			teardown: func(f *fleet) {
				for _, s := range []string{"pg-a", "pg-b"} {
					f.must("server", "undrain", s)
				}
			},
		},

		// Import from a customer's dump: a rerun finishes it, reconcile undoes it.
		{
			name: "import", group: "import",
			points: []string{"import.after-insert", "import.after-credentials", "import.import-roles.after-record",
				"import.after-create-database", "import.import-restored.after-record", "import.import-hardened.after-record",
				"import.after-migrate", "import.import-migrated.after-record", "import.after-login"},
			setup: func(f *fleet, slug string) []string { return createArgs(slug, "--from-dump", f.dumpFile()) },
			rerun: rerunCreate,
			check: func(f *fleet, slug string) { f.assertImported(slug) },
		},
		{
			name: "import undone by reconcile", group: "import",
			points: []string{"import.undo.after-drop"},
			setup: func(f *fleet, slug string) []string {
				f.killAt("import.after-create-database", createArgs(slug, "--from-dump", f.dumpFile())...)
				return []string{"reconcile"}
			},
			check: func(f *fleet, slug string) { f.assertImported(slug) },
		},
		{
			name: "export", group: "import",
			// Killed with the archive in place but not recorded: the archive is whole
			// (pg_restore reads it) and no partial file is left beside it.
			points: []string{"export.after-file"},
			setup: func(f *fleet, _ string) []string {
				f.exported = filepath.Join(f.t.TempDir(), "first-co.dump")
				return []string{"tenant", "export", "first-co", "--out", f.exported}
			},
			check: func(f *fleet, _ string) {
				out, err := exec.Command("/usr/lib/postgresql/15/bin/pg_restore", "--list", f.exported).CombinedOutput()
				require.NoError(f.t, err, "the archive is whole: %s", out)
				left, err := filepath.Glob(filepath.Join(filepath.Dir(f.exported), ".*partial*"))
				require.NoError(f.t, err)
				require.Empty(f.t, left, "no partial archive left")
			},
		},

		{
			// Key rotation: killed inside the transaction (nothing changed), or after it
			// committed (the rerun says it is done). Always rerun: with the old key,
			// reconcile is refused once the rotation committed.
			name: "secret rotate-key", always: true,
			points: []string{"secret.rotate.after-reseal:2", "secret.rotate.before-commit", "secret.rotate.after-commit"},
			setup: func(f *fleet, _ string) []string {
				if grants := f.must("access", "list", "--tenant", "second-co", "-o", "json"); !strings.Contains(grants, "rotor") {
					f.must("access", "grant", "rotor", "--tenant", "second-co", "--reason", "INC-9")
				}
				key, next := filepath.Join(f.t.TempDir(), "next.key"), pgtest.Key()
				require.NoError(f.t, os.WriteFile(key, []byte(next+"\n"), 0o600))
				f.mu.Lock()
				f.secrets = append(f.secrets, next) // never printed, like any key
				f.mu.Unlock()
				return []string{"secret", "rotate-key", "--new-key-file", key}
			},
			rerun: func(f *fleet, _ string, args []string) {
				out := f.must(args...)
				require.Regexp(f.t, "re-sealed|already uses the new key", out)
				b, err := os.ReadFile(args[len(args)-1])
				require.NoError(f.t, err)
				f.setEnv("TENANTCTL_SECRET_KEY", strings.TrimSpace(string(b)))
			},
			check:    func(f *fleet, _ string) { f.assertSealedReadable() },
			teardown: func(f *fleet) { f.must("access", "revoke", "rotor", "--tenant", "second-co") },
		},
	}
}

// rerunMove reruns a killed move: it finishes the move, or, when the kill came after the
// move was done (or reconcile rolled it back), there is nothing to resume and the move
// is run again. Either way the tenant ends on the target.
func rerunMove(f *fleet, slug string, args []string) {
	f.t.Helper()
	r := f.run(args...)
	if r.code == 2 && strings.Contains(r.stderr, "is on") {
		return // done before the kill landed
	}
	require.Equal(f.t, 0, r.code, "tenantctl %v\n%s", args, r)
	require.Equal(f.t, args[6], f.tenant(slug).Server, "the rerun finished the move")
}

// moveArgs makes the case's tenant on first use, remembers every tenant's rows, and
// returns a move of the tenant to the other server, dropping the source at once.
func (f *fleet) moveArgs(slug, method string) []string {
	f.t.Helper()
	var tn tenant
	if r := f.run("tenant", "show", slug, "-o", "json"); r.code == 0 {
		tn = decode[tenant](f.t, r.stdout)
	} else {
		tn = f.createTenant(slug, "--server", "pg-a")
	}
	f.rememberData()
	to := map[string]string{"pg-a": "pg-b", "pg-b": "pg-a"}[tn.Server]
	return []string{"tenant", "move", slug, "--method", method, "--to", to, "--keep-source", "0"}
}

// newLogicalFleet is a fleet on two private clusters with wal_level = logical, whose
// admin role is a superuser (method logical needs one on PostgreSQL 15; the audit
// notes it).
func newLogicalFleet(t testing.TB) *fleet {
	t.Helper()
	// Replication workers that stop (a subscription dropped, a table copied) start again
	// after wal_retrieve_retry_interval, 5 s by default: every kill would wait for it.
	settings := map[string]string{"wal_level": "logical", "max_replication_slots": "16", "max_wal_senders": "16", "log_statement": "'ddl'",
		"wal_retrieve_retry_interval": "'100ms'"}
	servers := []*pgtest.Server{pgtest.Dedicated(t, "logical-kill-a", settings), pgtest.Dedicated(t, "logical-kill-b", settings)}
	for _, s := range servers {
		s.AdminDSN(t) // makes the role
		s.Exec(t, "postgres", "ALTER ROLE "+pgx.Identifier{pgtest.AdminRole}.Sanitize()+" SUPERUSER")
	}
	return newFleetAs(t, true, pgtest.Get(t).Control, pgtest.Get(t).Control, servers...)
}

type serverInfo struct {
	Name        string `json:"name"`
	Spares      int    `json:"spares"`
	SparesReady int    `json:"spares_ready"`
}

func (f *fleet) server(name string) serverInfo {
	f.t.Helper()
	for _, s := range decode[[]serverInfo](f.t, f.must("server", "list", "-o", "json")) {
		if s.Name == name {
			return s
		}
	}
	f.t.Fatalf("no server %s", name)
	return serverInfo{}
}

// setEnv sets one variable of the fleet's environment.
func (f *fleet) setEnv(k, v string) {
	set := false
	for i, e := range f.env {
		if strings.HasPrefix(e, k+"=") {
			f.env[i], set = k+"="+v, true
		}
	}
	if !set {
		f.env = append(f.env, k+"="+v)
	}
}

// tableSums returns, per rolled-up table, the row count and an md5 of every row of the
// tenant database id on server i.
func (f *fleet) tableSums(i int, id string) map[string]string {
	f.t.Helper()
	ctx := context.Background()
	conn := f.serverConn(i, "t_"+id)
	defer conn.Close(ctx)
	out := map[string]string{}
	for _, table := range rollupTables {
		var n int64
		var sum string
		require.NoError(f.t, conn.QueryRow(ctx, `SELECT count(*), coalesce(md5(string_agg(to_jsonb(x)::text, ',' ORDER BY x.id)), '')
			FROM `+pgx.Identifier{table}.Sanitize()+` x`).Scan(&n, &sum))
		out[table] = fmt.Sprintf("%d %s", n, sum)
	}
	return out
}

// rememberData records every live tenant's rows, for assertDataIntact.
func (f *fleet) rememberData() {
	f.t.Helper()
	clear(f.data)
	for _, tn := range f.tenants() {
		if tn.State == "active" || tn.State == "suspended" {
			f.data[tn.ID] = f.tableSums(f.serverIndex(tn.Server), tn.ID)
		}
	}
}

// assertDataIntact checks that every tenant remembered by rememberData and still live
// has exactly its rows on the server the catalog names (the convergence check already
// requires its database there and nowhere else), and, when active, that its own
// credentials can write there.
func (f *fleet) assertDataIntact() {
	f.t.Helper()
	ctx := context.Background()
	for _, tn := range f.tenants() {
		want, ok := f.data[tn.ID]
		if !ok || tn.State != "active" && tn.State != "suspended" {
			continue
		}
		require.Equal(f.t, want, f.tableSums(f.serverIndex(tn.Server), tn.ID), "tenant %s: every row, exactly, on %s", tn.Slug, tn.Server)
		if tn.State != "active" {
			continue
		}
		conn, err := pgx.Connect(ctx, strings.TrimSpace(f.must("tenant", "dsn", tn.Slug)))
		require.NoError(f.t, err, "tenant %s logs in", tn.Slug)
		tx, err := conn.Begin(ctx)
		require.NoError(f.t, err)
		_, err = tx.Exec(ctx, `INSERT INTO users (email, full_name) VALUES ($1, 'Writable')`, "w-"+pgtest.RandomSuffix()+"@"+tn.Slug+".example")
		require.NoError(f.t, err, "tenant %s can write on %s", tn.Slug, tn.Server)
		require.NoError(f.t, tx.Rollback(ctx))
		conn.Close(ctx)
	}
}

// dumpFile exports first-co once per fleet, for the import cases.
func (f *fleet) dumpFile() string {
	f.t.Helper()
	if f.dump == "" {
		f.dump = filepath.Join(f.t.TempDir(), "customer.dump")
		f.must("tenant", "export", "first-co", "--out", f.dump)
		tn := f.tenant("first-co")
		f.dumpData = f.tableSums(f.serverIndex(tn.Server), tn.ID)
	}
	return f.dump
}

// assertImported checks that an imported tenant either is active with exactly the
// dump's rows, or was undone (purged, nothing on any server: the convergence check).
func (f *fleet) assertImported(slug string) {
	f.t.Helper()
	var tn tenant
	for _, x := range f.tenants() {
		if x.Slug == slug {
			tn = x
		}
	}
	switch tn.State {
	case "active":
		require.Equal(f.t, f.dumpData, f.tableSums(f.serverIndex(tn.Server), tn.ID), "imported tenant %s holds the dump's rows", slug)
	case "purged", "":
	default:
		f.t.Fatalf("imported tenant %s left %s", slug, tn.State)
	}
}

// assertSealedReadable opens every sealed value through the commands that need it: the
// catalog's key is the configured one, every live tenant's and access grant's password
// logs in, the warehouse DSN opens.
func (f *fleet) assertSealedReadable() {
	f.t.Helper()
	ctx := context.Background()
	ids := f.must("secret", "key-id")
	lines := strings.Split(strings.TrimSpace(ids), "\n")
	require.Len(f.t, lines, 2, ids)
	require.Equal(f.t, strings.Fields(lines[0])[1], strings.Fields(lines[1])[1], "the catalog uses the configured key")
	connect := func(what, dsn string) {
		conn, err := pgx.Connect(ctx, strings.TrimSpace(dsn))
		require.NoError(f.t, err, "%s opens", what)
		conn.Close(ctx)
	}
	for _, tn := range f.tenants() {
		if tn.State == "active" {
			connect("tenant "+tn.Slug, f.must("tenant", "dsn", tn.Slug))
		}
	}
	for _, g := range decode[[]struct {
		Tenant string `json:"tenant"`
		Login  string `json:"login"`
	}](f.t, f.must("access", "list", "-o", "json")) {
		connect("access "+g.Login, f.must("access", "dsn", g.Login, "--tenant", g.Tenant))
	}
	connect("the warehouse", f.must("warehouse", "dsn"))
}
