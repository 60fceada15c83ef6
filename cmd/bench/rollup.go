package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/localpg"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// rollupTables are the default spec's tables, in its order.
var rollupTables = []string{"users", "systems", "incidents"}

// rollup: first copy of one big tenant against a binary COPY pipe between two psql
// processes (into a table shaped like the source, without and with its key), the same
// pipe into each warehouse layout, 1% changed, nothing changed; then the whole fleet of
// small tenants against one connection per tenant database copying each table into the
// warehouse, and what a tenant costs in statements and connections.
func (h *harness) rollup(ctx context.Context, r *report) error {
	dbs, err := h.fleetTenants(ctx, r.Sizes.Tenants)
	if err != nil {
		return err
	}
	tenants, err := h.listTenants(ctx)
	if err != nil {
		return err
	}
	big := tenants[0]
	rows := r.Sizes.Rows
	h.logf("loading %d rows into %s", rows, big.Database)
	if err := superExec(ctx, h.server, big.Database, fmt.Sprintf(`INSERT INTO incidents (title, status, priority, opened_at)
		SELECT 'incident number ' || g, (ARRAY['open','in_progress','resolved','closed'])[1 + g %% 4], 1 + g %% 4, now() - g * interval '1 minute'
		FROM generate_series(1, %d) g`, rows), "VACUUM ANALYZE incidents"); err != nil {
		return err
	}
	// Tables shaped like the source: its columns (whatever migrations ran before), with
	// and without its primary key.
	cols, err := superQuery[string](ctx, h.server, big.Database, `SELECT string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
		FROM pg_attribute WHERE attrelid = 'incidents'::regclass AND attnum > 0 AND NOT attisdropped`)
	if err != nil {
		return err
	}
	src := h.server.DSN(big.Database)
	dst := h.control.DSN("warehouse")
	pipe := func(table string) string {
		return fmt.Sprintf(`%s -X -q -v ON_ERROR_STOP=1 -c "COPY (SELECT * FROM incidents) TO STDOUT (FORMAT binary)" '%s' | %s -X -q -v ON_ERROR_STOP=1 -c "COPY %s FROM STDIN (FORMAT binary)" '%s'`,
			PSQL, src, PSQL, table, dst)
	}
	// The pipe into the warehouse's own layout: the tenant id prepended, one table keyed
	// (tenant_id, id) with tenant_id in collation C, as rollup run creates it.
	tenantID := strings.TrimPrefix(big.Database, "t_")
	sharedPipe := fmt.Sprintf(`%s -X -q -v ON_ERROR_STOP=1 -c "COPY (SELECT '%s'::text, * FROM incidents) TO STDOUT (FORMAT binary)" '%s' | %s -X -q -v ON_ERROR_STOP=1 -c "COPY bench_rawshared_incidents FROM STDIN (FORMAT binary)" '%s'`,
		PSQL, tenantID, src, PSQL, dst)
	roll := func(name string, n int, args ...string) (measurement, error) {
		s := h.sampleConns(ctx)
		t, err := h.run(ctx, "rollup run", append([]string{"rollup", "run"}, args...)...)
		peak := s.Stop()
		m := measurement{Section: "rollup", Name: name, Ops: n, TotalMS: ms(t.d), PeakConns: peak, PeakRSSKiB: t.rssKiB}
		if n > 0 {
			m.RowsPerSec = float64(n) / t.d.Seconds()
		}
		return m, err
	}
	// Rounds alternate the contenders, each starting from a checkpoint with the others'
	// tables dropped: a burst of load elsewhere hits one round, not one contender.
	var raws, rawKeys, rawShared, firsts []measurement
	for round := range r.Sizes.Rounds {
		if err := superExec(ctx, h.control, "warehouse", `DROP TABLE IF EXISTS bench_raw_incidents, bench_rawkey_incidents, bench_rawshared_incidents`,
			`CREATE TABLE bench_raw_incidents (`+cols+`)`, `CREATE TABLE bench_rawkey_incidents (`+cols+`, PRIMARY KEY (id))`,
			`CREATE TABLE bench_rawshared_incidents (tenant_id text COLLATE "C" NOT NULL, `+cols+`, PRIMARY KEY (tenant_id, id))`, `CHECKPOINT`); err != nil {
			return err
		}
		t, err := h.shell(ctx, "psql COPY pipe (raw)", pipe("bench_raw_incidents"))
		if err != nil {
			return err
		}
		if n, err := superQuery[int64](ctx, h.control, "warehouse", `SELECT count(*) FROM bench_raw_incidents`); err != nil || n != int64(rows) {
			return fmt.Errorf("the raw pipe copied %d rows of %d: %w", n, rows, err)
		}
		raws = append(raws, measurement{Section: "rollup", Name: "binary COPY pipe, psql → psql, source-shaped table without key (raw)", Ops: rows,
			TotalMS: ms(t.d), RowsPerSec: float64(rows) / t.d.Seconds()})
		if err := superExec(ctx, h.control, "warehouse", `CHECKPOINT`); err != nil {
			return err
		}
		if t, err = h.shell(ctx, "psql COPY pipe (raw)", pipe("bench_rawkey_incidents")); err != nil {
			return err
		}
		rawKeys = append(rawKeys, measurement{Section: "rollup", Name: "binary COPY pipe, psql → psql, source-shaped table with its key (id) (raw)", Ops: rows,
			TotalMS: ms(t.d), RowsPerSec: float64(rows) / t.d.Seconds()})
		if err := superExec(ctx, h.control, "warehouse", `CHECKPOINT`); err != nil {
			return err
		}
		if t, err = h.shell(ctx, "psql COPY pipe (raw)", sharedPipe); err != nil {
			return err
		}
		if n, err := superQuery[int64](ctx, h.control, "warehouse", `SELECT count(*) FROM bench_rawshared_incidents`); err != nil || n != int64(rows) {
			return fmt.Errorf("the raw pipe into the shared layout copied %d rows of %d: %w", n, rows, err)
		}
		rawShared = append(rawShared, measurement{Section: "rollup", Name: "binary COPY pipe, psql → psql, tenant id prepended, table keyed (tenant_id, id) like the warehouse's (raw)", Ops: rows,
			TotalMS: ms(t.d), RowsPerSec: float64(rows) / t.d.Seconds()})
		// The rollup's first copy, into warehouse tables that do not exist yet (as on a
		// new warehouse): drop them and forget the watermarks.
		if err := superExec(ctx, h.control, "warehouse", `DROP TABLE IF EXISTS bench_raw_incidents, bench_rawkey_incidents, bench_rawshared_incidents, `+strings.Join(rollupTables, ", "),
			`DELETE FROM tenantctl.watermarks`, `CHECKPOINT`); err != nil {
			return err
		}
		first, err := roll("rollup run, first copy of one tenant", rows, "--tenant", big.Slug)
		if err != nil {
			return err
		}
		firsts = append(firsts, first)
		h.logf("round %d: raw pipe %.0f rows/s, with key id %.0f rows/s, keyed (tenant_id, id) %.0f rows/s, rollup first copy %.0f rows/s", round+1,
			raws[round].RowsPerSec, rawKeys[round].RowsPerSec, rawShared[round].RowsPerSec, first.RowsPerSec)
	}
	for i := range firsts {
		r.add(raws[i])
		r.add(rawKeys[i])
		r.add(rawShared[i])
		r.add(firsts[i])
	}
	// The target's baseline: a binary COPY pipe into a table with the same key as the
	// warehouse table. The pipes into a table keyed on id alone and into one without a
	// key are context.
	r.compareRounds("rollup first full copy", firsts, rawShared, 0.85, "≥ 0.85× binary COPY pipe into a table with the same key (tenant_id, id)", true)
	r.compareRounds("rollup first full copy vs the pipe into a source-shaped table keyed on id alone", firsts, rawKeys, 0.85, "(for context)", true)
	r.compareRounds("rollup first full copy vs the pipe into a source-shaped table without key", firsts, raws, 0.85, "(for context)", true)
	if err := h.layouts(ctx, r, src, dst, cols, rows); err != nil {
		return err
	}
	if err := superExec(ctx, h.control, "warehouse", `DROP TABLE IF EXISTS bench_raw_incidents, bench_rawkey_incidents`); err != nil {
		return err
	}
	if err := superExec(ctx, h.server, big.Database, `UPDATE incidents SET status = 'closed' WHERE id % 100 = 0`); err != nil {
		return err
	}
	changed, err := roll("rollup run, 1% of rows changed", 0, "--tenant", big.Slug)
	if err != nil {
		return err
	}
	changed.Note = fmt.Sprintf("%d rows changed", rows/100)
	r.add(changed)
	noop, err := roll("rollup run, nothing changed", 0, "--tenant", big.Slug)
	if err != nil {
		return err
	}
	r.add(noop)

	// The fleet: every tenant small. The big tenant's rows go (untimed).
	if err := superExec(ctx, h.server, big.Database, `DELETE FROM incidents`, `VACUUM incidents`); err != nil {
		return err
	}
	if _, err := h.run(ctx, "rollup run", "rollup", "run", "--tenant", big.Slug); err != nil {
		return err
	}
	for _, db := range dbs {
		if err := superExec(ctx, h.server, db, `INSERT INTO users (email, full_name) SELECT 'u' || g || '@example.com', 'User ' || g FROM generate_series(1, 5) g`,
			`INSERT INTO incidents (title) SELECT 'small ' || g FROM generate_series(1, 20) g`); err != nil {
			return err
		}
	}
	slugs := make([]string, len(dbs))
	for i, db := range dbs {
		for _, t := range tenants {
			if t.Database == db {
				slugs[i] = t.Slug
			}
		}
	}
	return h.rollupFleet(ctx, r, dbs, slugs)
}

// rollupFleet times `rollup run` over the whole fleet of small tenants, as a first run
// and with nothing changed, against the baseline an operator would script: one
// connection per tenant database, 4 at once, each table piped with binary COPY into a
// plain warehouse table (no snapshot, no watermark, no exactly-once).
func (h *harness) rollupFleet(ctx context.Context, r *report, dbs, slugs []string) error {
	k := len(dbs)
	ids := make([]string, k)
	for i, db := range dbs {
		ids[i] = strings.TrimPrefix(db, "t_")
	}
	var defs []string
	for _, table := range rollupTables {
		cols, err := superQuery[string](ctx, h.server, dbs[0], `SELECT string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
			FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, table)
		if err != nil {
			return err
		}
		defs = append(defs, `CREATE TABLE bench_fleet_`+table+` (tenant_id text COLLATE "C" NOT NULL, `+cols+`)`)
	}
	roll := func(name string) (measurement, error) {
		s := h.sampleConns(ctx)
		t, err := h.run(ctx, "rollup run", "rollup", "run", "--concurrency", "4", "--per-server", "4")
		peak := s.Stop()
		return measurement{Section: "rollup", Name: name, Ops: k, Conc: 4, TotalMS: ms(t.d), PerOpMS: ms(t.d) / float64(k), PeakConns: peak, PeakRSSKiB: t.rssKiB}, err
	}
	var drop []string
	for _, table := range rollupTables {
		drop = append(drop, "bench_fleet_"+table)
	}
	var raws, rawOwners, firsts, noops []measurement
	for round := range r.Sizes.Rounds {
		if err := superExec(ctx, h.control, "warehouse", append([]string{`DROP TABLE IF EXISTS ` + strings.Join(drop, ", ")}, defs...)...); err != nil {
			return err
		}
		s := h.sampleConns(ctx)
		d, err := h.rawFleet(ctx, ids, 4, false)
		peak := s.Stop()
		if err != nil {
			return err
		}
		raws = append(raws, measurement{Section: "rollup", Name: "one connection per tenant database, COPY of each table into the warehouse, 4 at once (raw)",
			Ops: k, Conc: 4, TotalMS: ms(d), PerOpMS: ms(d) / float64(k), PeakConns: peak})
		if err := superExec(ctx, h.control, "warehouse", `TRUNCATE `+strings.Join(drop, ", ")); err != nil {
			return err
		}
		if d, err = h.rawFleet(ctx, ids, 4, true); err != nil {
			return err
		}
		rawOwners = append(rawOwners, measurement{Section: "rollup", Name: "the same logged in as each tenant's owner role (raw)",
			Ops: k, Conc: 4, TotalMS: ms(d), PerOpMS: ms(d) / float64(k)})
		// A first run for every tenant (the big one, now small too, included): forget
		// their watermarks and rows.
		var reset []string
		for _, table := range rollupTables {
			reset = append(reset, `DELETE FROM `+table)
		}
		reset = append(reset, `DELETE FROM tenantctl.watermarks`, `TRUNCATE `+strings.Join(drop, ", "), `VACUUM`, `CHECKPOINT`)
		if err := superExec(ctx, h.control, "warehouse", reset...); err != nil {
			return err
		}
		first, err := roll(fmt.Sprintf("rollup run --concurrency 4 --per-server 4, whole fleet, first run (%d small tenants)", k))
		if err != nil {
			return err
		}
		firsts = append(firsts, first)
		noop, err := roll(fmt.Sprintf("rollup run --concurrency 4 --per-server 4, whole fleet, nothing changed (%d small tenants)", k))
		if err != nil {
			return err
		}
		noops = append(noops, noop)
		h.logf("round %d: raw %.1f ms per tenant (as the admin role %.1f), rollup first run %.1f, nothing changed %.1f", round+1,
			raws[round].PerOpMS, rawOwners[round].PerOpMS, first.PerOpMS, noop.PerOpMS)
	}
	for i := range raws {
		r.add(raws[i])
		r.add(rawOwners[i])
		r.add(firsts[i])
		r.add(noops[i])
	}
	r.compareRounds(fmt.Sprintf("rollup run over %d small tenants, first run", k), firsts, raws, 1.2, "≤ 1.2× the superuser script", false)
	r.compareRounds(fmt.Sprintf("rollup run over %d small tenants, nothing changed", k), noops, raws, 1.2, "≤ 1.2× the superuser script", false)
	r.compareRounds(fmt.Sprintf("rollup run over %d small tenants, first run, vs the same script logged in as each owner", k), firsts, rawOwners, 1.2, "(the login tenantctl reads as)", false)
	r.compareRounds(fmt.Sprintf("rollup run over %d small tenants, nothing changed, vs the same script logged in as each owner", k), noops, rawOwners, 1.2, "(the login tenantctl reads as)", false)

	// A run's fixed cost (process start, catalog, warehouse): one small tenant.
	var oneRaw, oneRoll []measurement
	for range r.Sizes.Rounds {
		if err := superExec(ctx, h.control, "warehouse", `TRUNCATE bench_fleet_users, bench_fleet_systems, bench_fleet_incidents`); err != nil {
			return err
		}
		d, err := h.rawFleet(ctx, ids[1:2], 1, false)
		if err != nil {
			return err
		}
		oneRaw = append(oneRaw, measurement{Section: "rollup", Name: "one connection to one small tenant database, COPY of each table (raw)", Ops: 1, TotalMS: ms(d), PerOpMS: ms(d)})
		t, err := h.run(ctx, "rollup run", "rollup", "run", "--tenant", slugs[1])
		if err != nil {
			return err
		}
		oneRoll = append(oneRoll, measurement{Section: "rollup", Name: "rollup run --tenant, one small tenant, nothing changed", Ops: 1, TotalMS: ms(t.d), PerOpMS: ms(t.d), PeakRSSKiB: t.rssKiB})
	}
	for i := range oneRaw {
		r.add(oneRaw[i])
		r.add(oneRoll[i])
	}
	r.compareRounds("rollup run of one small tenant (a run's fixed cost)", oneRoll, oneRaw, 1e9, "(for scale)", false)

	// What one tenant costs: statements (each one round trip) and connections, counted in
	// the server logs of a run with log_statement = all (untimed).
	for _, c := range []struct {
		name  string
		reset []string
	}{
		{"first run", []string{`DELETE FROM tenantctl.watermarks`}},
		{"nothing changed", nil},
	} {
		if len(c.reset) > 0 {
			if err := superExec(ctx, h.control, "warehouse", c.reset...); err != nil {
				return err
			}
		}
		counts, err := h.countStatements(ctx, func() error {
			_, err := h.run(ctx, "rollup run", "rollup", "run", "--concurrency", "4", "--per-server", "4")
			return err
		})
		if err != nil {
			return err
		}
		per := func(n int) float64 { return float64(n) / float64(k) }
		note := fmt.Sprintf("per tenant: tenant server %.2f connections, %.1f round trips (a login takes 3), %.1f statements; "+
			"warehouse %.1f round trips, %.1f statements (%d connections in all); catalog %.1f statements (the run's fixed costs included)",
			per(counts.serverConns), per(counts.serverTrips), per(counts.serverStatements),
			per(counts.warehouseTrips), per(counts.warehouseStatements), counts.warehouseConns, per(counts.catalogStatements))
		r.Notes = append(r.Notes, fmt.Sprintf("rollup run over %d small tenants, %s: %s", k, c.name, note))
		h.logf("%s: %s", c.name, note)
	}
	return superExec(ctx, h.control, "warehouse", `DROP TABLE `+strings.Join(drop, ", "))
}

// rawFleet is the fleet baseline, run as its own process like a script would be (this
// program again, see rawFleetMain): for each tenant database one connection (as the
// superuser, conc at once) piping each rolled-up table with binary COPY into a plain
// warehouse table, on warehouse connections held for the whole run.
//
// asOwner connects as each tenant's owner role with its own password (read from the
// catalog before the timing starts), the login tenantctl reads as: the admin holds no
// membership in tenant roles, so it cannot read their tables.
func (h *harness) rawFleet(ctx context.Context, ids []string, conc int, asOwner bool) (time.Duration, error) {
	var list strings.Builder
	var store *catalog.Store
	if asOwner {
		var err error
		if store, _, err = h.openCatalog(ctx); err != nil {
			return 0, err
		}
		defer store.Close()
	}
	for _, id := range ids {
		dsn := h.server.DSN("t_" + id)
		if asOwner {
			pw, err := store.Credential(ctx, id, catalog.OwnerCredential)
			if err != nil {
				return 0, fmt.Errorf("tenant %s: %w", id, err)
			}
			u, err := url.Parse(dsn)
			if err != nil {
				return 0, err
			}
			u.User = url.UserPassword(tenantdb.OwnerRole(id), pw)
			dsn = u.String()
		}
		fmt.Fprintf(&list, "%s\t%s\n", id, dsn)
	}
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	t, err := h.exec(ctx, "raw fleet copy", append(os.Environ(), "BENCH_RAW_WAREHOUSE="+h.control.DSN("warehouse")),
		list.String(), self, rawFleetArg, fmt.Sprint(conc))
	return t.d, err
}

// rawFleetArg makes this program the fleet baseline (see rawFleet).
const rawFleetArg = "raw-fleet"

// rawFleetMain reads "id<TAB>dsn" lines on stdin and copies each tenant database's
// tables into the warehouse at $BENCH_RAW_WAREHOUSE, conc tenants at once.
func rawFleetMain(ctx context.Context, conc int) error {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	var ids, dsns []string
	for _, line := range strings.Split(strings.TrimSpace(string(in)), "\n") {
		id, dsn, _ := strings.Cut(line, "\t")
		ids, dsns = append(ids, id), append(dsns, dsn)
	}
	whs := make(chan *pgx.Conn, conc)
	for range conc {
		c, err := pgx.Connect(ctx, os.Getenv("BENCH_RAW_WAREHOUSE"))
		if err != nil {
			return err
		}
		defer c.Close(context.WithoutCancel(ctx))
		whs <- c
	}
	_, _, err = ops(ctx, len(ids), conc, func(i int) (time.Duration, error) {
		wh := <-whs
		defer func() { whs <- wh }()
		src, err := pgx.Connect(ctx, dsns[i])
		if err != nil {
			return 0, err
		}
		defer src.Close(context.WithoutCancel(ctx))
		for _, table := range rollupTables {
			if _, err := copyPipe(ctx, src.PgConn(), wh.PgConn(),
				fmt.Sprintf("COPY (SELECT '%s'::text, * FROM %s) TO STDOUT (FORMAT binary)", ids[i], table),
				"COPY bench_fleet_"+table+" FROM STDIN (FORMAT binary)"); err != nil {
				return 0, fmt.Errorf("tenant %s, table %s: %w", ids[i], table, err)
			}
		}
		return 0, nil
	})
	return err
}

// copyPipe streams copyTo on src into copyFrom on dst (64 KiB buffered), as a script
// with pgconn would.
func copyPipe(ctx context.Context, src, dst *pgconn.PgConn, copyTo, copyFrom string) (int64, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(pw, 64<<10)
		_, err := src.CopyTo(ctx, bw, copyTo)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
		done <- err
	}()
	tag, err := dst.CopyFrom(ctx, pr, copyFrom)
	pr.Close()
	if srcErr := <-done; srcErr != nil && err == nil {
		err = srcErr
	}
	return tag.RowsAffected(), err
}

type statementCounts struct {
	serverStatements, serverConns, serverTrips int
	warehouseStatements, warehouseTrips        int
	warehouseConns                             int
	catalogStatements                          int
}

// countStatements runs fn with the tenant server and the warehouse registered through
// counting proxies (round trips and connections) and with log_statement = all on both
// clusters (statements each database received, pipelined ones included), then puts
// everything back.
func (h *harness) countStatements(ctx context.Context, fn func() error) (c statementCounts, retErr error) {
	store, box, err := h.openCatalog(ctx)
	if err != nil {
		return c, err
	}
	defer store.Close()
	whDSN, err := store.WarehouseDSN(ctx)
	if err != nil {
		return c, err
	}
	wh, err := store.GetWarehouse(ctx)
	if err != nil {
		return c, err
	}
	srvProxy, err := newCountingProxy(fmt.Sprintf("127.0.0.1:%d", h.server.Port))
	if err != nil {
		return c, err
	}
	defer srvProxy.Close()
	whProxy, err := newCountingProxy(fmt.Sprintf("127.0.0.1:%d", h.control.Port))
	if err != nil {
		return c, err
	}
	defer whProxy.Close()
	route := func(server, warehouse string) error {
		// The server's DSN is sealed under its label (see package catalog).
		if err := superExec(ctx, h.control, "catalog", fmt.Sprintf(`UPDATE servers SET dsn_sealed = '\x%x' WHERE name = 'pg-a'`,
			box.SealString(server, "server/pg-a/dsn"))); err != nil {
			return err
		}
		return store.RegisterWarehouse(ctx, wh, warehouse)
	}
	if err := route(srvProxy.via(h.adminDSN), whProxy.via(whDSN)); err != nil {
		return c, err
	}
	defer func() {
		if err := route(h.adminDSN, whDSN); err != nil && retErr == nil {
			retErr = err
		}
	}()
	set := func(on bool) error {
		v := []string{`ALTER SYSTEM RESET log_statement`, `ALTER SYSTEM RESET log_connections`, `SELECT pg_reload_conf()`}
		if on {
			v = []string{`ALTER SYSTEM SET log_statement = 'all'`, `ALTER SYSTEM SET log_connections = on`, `SELECT pg_reload_conf()`}
		}
		for _, cl := range []*localpg.Cluster{h.server, h.control} {
			if err := superExec(ctx, cl, "postgres", v...); err != nil {
				return err
			}
		}
		time.Sleep(300 * time.Millisecond) // the reload reaches every backend
		return nil
	}
	offsets := map[*localpg.Cluster]int64{}
	for _, cl := range []*localpg.Cluster{h.server, h.control} {
		st, err := os.Stat(cl.LogFile())
		if err != nil {
			return c, err
		}
		offsets[cl] = st.Size()
	}
	if err := set(true); err != nil {
		return c, err
	}
	srvTrips, whTrips, whConns := srvProxy.trips.Load(), whProxy.trips.Load(), whProxy.conns.Load()
	err = fn()
	c.serverTrips, c.warehouseTrips = int(srvProxy.trips.Load()-srvTrips), int(whProxy.trips.Load()-whTrips)
	c.warehouseConns = int(whProxy.conns.Load() - whConns)
	if serr := set(false); err == nil {
		err = serr
	}
	if err != nil {
		return c, err
	}
	for _, cl := range []*localpg.Cluster{h.server, h.control} {
		f, err := os.Open(cl.LogFile())
		if err != nil {
			return c, err
		}
		_, _ = f.Seek(offsets[cl], io.SeekStart)
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return c, err
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			s := string(line)
			stmt := strings.Contains(s, " LOG:  statement: ") || strings.Contains(s, " LOG:  execute ")
			switch {
			case cl == h.server && strings.Contains(s, "@t_") && stmt:
				c.serverStatements++
			case cl == h.server && strings.Contains(s, "connection authorized") && strings.Contains(s, "database=t_"):
				c.serverConns++
			case cl == h.control && strings.Contains(s, "@warehouse ") && stmt && !strings.Contains(s, "pg_reload_conf"):
				c.warehouseStatements++
			case cl == h.control && strings.Contains(s, "@catalog ") && stmt && !strings.Contains(s, "dsn_sealed"):
				c.catalogStatements++
			}
		}
	}
	return c, nil
}

// layouts times the same raw binary pipe (tenant_id prepended) into the warehouse
// layouts: one shared table keyed (tenant_id, id), with tenant_id in collation C (as
// tenantctl makes it) and in a linguistic one; the same hash-partitioned by tenant_id;
// a fresh table per load with its key index built after the copy. Each is
// loaded twice: a first tenant into an empty table, then a second tenant whose id sorts
// before the first's (the case that splits index pages in the middle).
func (h *harness) layouts(ctx context.Context, r *report, src, dst, srcCols string, rows int) error {
	cols := `tenant_id text COLLATE "C" NOT NULL, ` + srcCols
	// The same shared table with tenant_id compared under a linguistic collation (ICU's
	// en-US), as a database created with a locale such as en_US.UTF-8 would by default.
	icuCols := strings.Replace(cols, `COLLATE "C"`, `COLLATE "en-US-x-icu"`, 1)
	setup := []string{
		`DROP TABLE IF EXISTS bench_shared, bench_shared_icu, bench_hashed, bench_fresh_a, bench_fresh_b`,
		`CREATE TABLE bench_shared (` + cols + `, PRIMARY KEY (tenant_id, id))`,
		`CREATE TABLE bench_shared_icu (` + icuCols + `, PRIMARY KEY (tenant_id, id))`,
		`CREATE TABLE bench_hashed (` + cols + `, PRIMARY KEY (tenant_id, id)) PARTITION BY HASH (tenant_id)`,
	}
	for i := range 8 {
		setup = append(setup, fmt.Sprintf(`CREATE TABLE bench_hashed_%d PARTITION OF bench_hashed FOR VALUES WITH (MODULUS 8, REMAINDER %d)`, i, i))
	}
	setup = append(setup, `CREATE TABLE bench_fresh_a (`+cols+`)`, `CREATE TABLE bench_fresh_b (`+cols+`)`)
	if err := superExec(ctx, h.control, "warehouse", setup...); err != nil {
		return err
	}
	pipe := func(tenant, table, after string) (time.Duration, error) {
		script := fmt.Sprintf(`%s -X -q -c "COPY (SELECT '%s'::text, * FROM incidents) TO STDOUT (FORMAT binary)" '%s' | %s -X -q -c "COPY %s FROM STDIN (FORMAT binary)" '%s'`,
			PSQL, tenant, src, PSQL, table, dst)
		if after != "" {
			script += fmt.Sprintf(` && %s -X -q -c "%s" '%s'`, PSQL, after, dst)
		}
		t, err := h.shell(ctx, "psql COPY pipe (raw)", script)
		return t.d, err
	}
	for _, l := range []struct{ name, first, second, afterA, afterB string }{
		{"shared table, key (tenant_id, id)", "bench_shared", "bench_shared", "", ""},
		{"shared table, key (tenant_id, id), tenant_id in collation en-US (ICU)", "bench_shared_icu", "bench_shared_icu", "", ""},
		{"hash partitions by tenant (8), key (tenant_id, id)", "bench_hashed", "bench_hashed", "", ""},
		{"fresh table per load, key index built after", "bench_fresh_a", "bench_fresh_b",
			"ALTER TABLE bench_fresh_a ADD PRIMARY KEY (tenant_id, id)", "ALTER TABLE bench_fresh_b ADD PRIMARY KEY (tenant_id, id)"},
	} {
		for i, load := range []struct{ tenant, table, after string }{{"mmmmmmmmmm", l.first, l.afterA}, {"aaaaaaaaaa", l.second, l.afterB}} {
			d, err := pipe(load.tenant, load.table, load.after)
			if err != nil {
				return err
			}
			if n, err := superQuery[int64](ctx, h.control, "warehouse", `SELECT count(*) FROM `+load.table+` WHERE tenant_id = $1`, load.tenant); err != nil || n != int64(rows) {
				return fmt.Errorf("the raw pipe into %s copied %d rows of %d: %w", load.table, n, rows, err)
			}
			which := "first tenant, empty table"
			if i == 1 {
				which = "second tenant, id sorting first"
			}
			m := r.add(measurement{Section: "warehouse layout", Name: l.name + ": " + which, Ops: rows, TotalMS: ms(d), RowsPerSec: float64(rows) / d.Seconds()})
			h.logf("%s: %.0f rows/s", m.Name, m.RowsPerSec)
		}
	}
	return superExec(ctx, h.control, "warehouse", `DROP TABLE bench_shared, bench_shared_icu, bench_hashed, bench_fresh_a, bench_fresh_b`)
}
