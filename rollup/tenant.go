package rollup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/tenantdb"
	"github.com/tenantctl/tenantctl/warehouse"
)

// maxXidDistance bounds how far a watermark may lag behind the tenant server's next
// transaction id for an incremental copy: rows are chosen by comparing 32-bit xids with
// age(), which is exact only within 2^31. Further than this (a tenant not rolled up for
// a billion transactions), the table is copied in full.
const maxXidDistance = 1 << 30

// heldBackNotice is the lag (in transaction ids) of a snapshot's xmin behind its xmax
// from which a run mentions the open transaction holding the watermark back.
const heldBackNotice = 100_000

// snapshot is what a run learns from a tenant database's transaction snapshot.
type snapshot struct {
	// Xmin is pg_snapshot_xmin: every transaction below it had finished. It becomes the
	// tenant's new watermark.
	Xmin int64
	// Xmax is pg_snapshot_xmax: the next transaction id when the snapshot was taken.
	Xmax int64
	// Source names the tenant database (the server's system identifier and the
	// database's oid): transaction ids mean nothing in another one.
	Source string
}

// tablePlan is how one table of one tenant is copied this run.
type tablePlan struct {
	table Table
	// cols are the source columns in warehouse order.
	cols []srcColumn
	sig  string
	// full means delete the tenant's rows of the table and copy every row again; else
	// copy the rows whose xmin is at or above prev.
	full   bool
	reason string
	prev   int64
	// prevCount is the tenant's row count in the warehouse table after the last run
	// (nil: unknown, count it).
	prevCount *int64
	// srcCount and changed are, for an incremental copy, the tenant's rows and those
	// written since prev (see countSource); counted says they were read.
	srcCount, changed int64
	counted           bool
	// skip, when not empty, says why the table is not copied this run.
	skip string
}

// copyTenant copies one tenant: one snapshot of its database, one warehouse transaction
// holding its rows and its new watermarks.
//
// Round trips are what a small tenant costs, so statements that need no answer before
// the next one travel together (pipelined in one pgx.Batch): on the warehouse, the
// tenant's lock with its watermarks and the warehouse tables' description; BEGIN with
// the deletes of the tables copied in full, sent just before the first COPY; the
// watermarks and the tenant dimension row (one statement), COMMIT and the unlock at the
// end. In the tenant database, BEGIN with the snapshot and the tables' description (the
// quick one, queueQuickDescribe, once the server's bootstrap types are known); then one
// query counts every incrementally copied table's rows and changed rows, and only tables
// with changes are copied. A tenant with nothing changed
// costs its connection, one round trip on it and two on the warehouse. The catalog
// check under the lock overlaps the copy and is awaited before the commit.
func (r *runner) copyTenant(ctx context.Context, srv *tenantdb.Server, t catalog.Tenant, res *TenantResult) (retErr error) {
	if !tenantdb.ValidID(t.ID) {
		// Tenant ids are written into COPY statements, which take no parameters.
		return fmt.Errorf("invalid tenant id %q", t.ID)
	}
	// Log in to the tenant database while the warehouse side gets ready: connecting
	// takes no snapshot, so it may precede the tenant's lock.
	type connected struct {
		conn *pgx.Conn
		err  error
	}
	srcReady := make(chan connected, 1)
	id := t.ID // t is refreshed from the catalog below
	go func() {
		// The owner's own login when the catalog holds its password: a session whose
		// cost does not depend on how many tenants share the server.
		pw, ok := r.ownerPasswords[id]
		var err error
		if !ok {
			pw, err = r.o.Store.Credential(ctx, id, catalog.OwnerCredential)
			if errors.Is(err, catalog.ErrNoCredential) {
				pw, err = "", nil
			}
		}
		var conn *pgx.Conn
		if err == nil {
			// A concurrent rotate-credentials may set the owner's new password on the
			// server between the read above and the login: then it logs in with the new one.
			conn, err = catalog.LoginAsOwner(ctx, r.o.Store, id, pw, func(pw string) (*pgx.Conn, error) {
				return connectSource(ctx, srv, id, pw)
			})
		}
		srcReady <- connected{conn, err}
	}()
	var src *pgx.Conn
	received := false
	defer func() {
		if !received {
			src = (<-srcReady).conn
		}
		if src != nil {
			src.Close(context.WithoutCancel(ctx))
		}
	}()

	wc, err := r.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("warehouse: %w", err)
	}
	w := wc.Conn()
	clean := false
	defer func() {
		// Unless the run ended with the transaction committed and the lock released, the
		// connection may hold the tenant's lock, an open transaction or be mid-protocol:
		// close it (dropping its lock and temporary tables with it) rather than pass it on.
		if !clean {
			w.Close(context.WithoutCancel(ctx))
		}
		wc.Release()
	}()
	// One round trip: the tenant's lock (waiting for another run or a purge of it), its
	// watermarks and the warehouse tables.
	var marks map[string]warehouse.Watermark
	var have map[string]warehouse.Table
	b := &pgx.Batch{}
	warehouse.QueueLockTenant(b, t.ID)
	warehouse.QueueWatermarks(b, t.ID, &marks)
	warehouse.QueueDescribeTables(b, r.relnames(), &have)
	if err := w.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	// Under the lock, make sure the tenant is still there: a purge takes the same lock
	// after dropping the tenant database, so once this says the tenant is rollable, no
	// purge can be undone by this run writing rows back. It is awaited before COMMIT.
	checkCtx, cancelCheck := context.WithCancel(ctx)
	defer cancelCheck()
	checked := make(chan tenantCheck, 1)
	go func() {
		cur, err := r.o.Store.GetTenantByID(checkCtx, t.ID)
		checked <- tenantCheck{cur, err}
	}()

	c := <-srcReady
	received = true
	if c.err != nil {
		return c.err
	}
	src = c.conn
	// In REPEATABLE READ every statement of the transaction sees the snapshot its first
	// one took: the rows, keys and counts read below and the watermark agree. BEGIN, the
	// snapshot's figures, the tables' description and the counts of the tables copied
	// incrementally last time travel in one round trip. Should a count fail (a table
	// dropped or turned into a view since), the snapshot is taken again without them and
	// the plan says what is wrong.
	if err := refreshViews(ctx, src, r.o.Spec, t.ID); err != nil {
		return err
	}
	guess := guessCounts(r.o.Spec, marks)
	types := r.bootTypes(t.Server)
	op, err := openSnapshot(ctx, src, r.o.Spec, guess, types)
	if err != nil && types != nil && ctx.Err() == nil && !src.IsClosed() {
		// The quick description could not read a table as is (missing, unreadable, under
		// row-level security, not populated…): describe it the usual way, which says why.
		if _, err = src.Exec(ctx, "ROLLBACK"); err == nil {
			op, err = openSnapshot(ctx, src, r.o.Spec, guess, nil)
		}
	}
	asOwner := false
	if err != nil && len(guess) > 0 && ctx.Err() == nil && !src.IsClosed() {
		// Also the way a count refused by row-level security (read as the admin role,
		// with row_security off) is read again as the owner.
		if err = setOwner(ctx, src, t.ID, "ROLLBACK; "); err == nil {
			asOwner = true
			op, err = openSnapshot(ctx, src, r.o.Spec, nil, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("open tenant snapshot: %w", err)
	}
	if op.types != nil {
		r.types.Store(t.Server, op.types)
	}
	snap, srcTables, counts := op.snap, op.tables, op.counts
	if !asOwner && !allReadableAsIs(srcTables) {
		// Read as the owner: a role change inside the snapshot's transaction.
		if err := setOwner(ctx, src, t.ID, ""); err != nil {
			return err
		}
	}
	if lag := snap.Xmax - snap.Xmin; lag > heldBackNotice {
		r.o.Log.Info("an open transaction on the tenant's server holds the watermark back; rows written after it started are read again next run",
			"tenant", t.Slug, "xids", lag)
	}
	plans, err := r.plan(ctx, w, srcTables, have, marks, snap)
	if op.quick && errors.Is(err, ErrSchema) {
		// The quick description names types without their modifiers: say what is wrong
		// with the full one (the same snapshot).
		if err = describeSource(ctx, src, r.o.Spec, srcTables); err == nil {
			plans, err = r.plan(ctx, w, srcTables, have, marks, snap)
		}
	}
	if err != nil {
		return err
	}
	for i, p := range plans {
		if c, ok := counts[i]; ok && !p.full && c.prev == p.prev {
			plans[i].srcCount, plans[i].changed, plans[i].counted = c.rows, c.changed, true
		}
	}
	if err := countSource(ctx, src, plans); err != nil {
		return err
	}

	// The warehouse transaction starts with the next round trip.
	q := &queue{conn: w}
	q.b.Queue("BEGIN")
	q.b.Queue("SET LOCAL statement_timeout = 0")
	// Every table copied in full first loses the tenant's rows: those deletes travel
	// with BEGIN, in the round trip before the first COPY.
	cleared := make([]int64, len(plans))
	for i, p := range plans {
		if p.full && p.skip == "" {
			queueClear(&q.b, pgx.Identifier{"public", p.table.Relname()}.Sanitize(), t.ID, &cleared[i])
		}
	}
	for i, p := range plans {
		if p.skip != "" {
			res.Tables = append(res.Tables, TableResult{Table: p.table.Relname(), Mode: p.table.Mode, Skipped: true, Note: p.skip,
				Watermark: snap.Xmin, HeldBack: snap.Xmax - snap.Xmin})
			r.o.Log.Info("table skipped", "tenant", t.Slug, "table", p.table.Name, "note", p.skip)
			continue
		}
		tr, err := r.copyTable(ctx, src, q, t, p, snap, &cleared[i])
		if err != nil {
			return fmt.Errorf("table %s: %w", p.table.Name, err)
		}
		res.Tables = append(res.Tables, tr.TableResult)
		res.RowsCopied += tr.RowsCopied
		res.RowsDeleted += tr.RowsDeleted
		r.o.Log.Debug("table copied", "tenant", t.Slug, "table", tr.Table, "mode", tr.Mode, "reason", tr.Reason,
			"rows_copied", tr.RowsCopied, "rows_deleted", tr.RowsDeleted)
		q.marks = append(q.marks, warehouse.Watermark{
			TenantID: t.ID, Table: p.table.Relname(), Xmin: &snap.Xmin, Source: snap.Source, Signature: p.sig,
			Mode: tr.Mode, RowsCopied: tr.RowsCopied, RowsDeleted: tr.RowsDeleted, RowCount: &tr.rowCount,
		})
		fpTableCopied.Hit()
		if h := r.o.Hooks.AfterTable; h != nil {
			if err := h(t.ID, p.table.Relname()); err != nil {
				return err
			}
		}
	}
	chk := <-checked
	if chk.err != nil {
		return chk.err
	}
	if !rollable(chk.cur.State) {
		r.o.Log.Info("tenant skipped: it was deleted during the run", "tenant", t.Slug, "state", chk.cur.State)
		return errSkip
	}
	if chk.cur.Server != t.Server {
		return fmt.Errorf("the tenant moved from server %s to %s during the run: run again", t.Server, chk.cur.Server)
	}
	t = chk.cur
	warehouse.QueueSaveRun(&q.b, q.marks, warehouse.Tenant{
		ID: t.ID, Slug: t.Slug, Name: t.Name, Domain: t.Domain, Server: t.Server, State: t.State,
	})
	fpBeforeCommit.Hit()
	if h := r.o.Hooks.BeforeCommit; h != nil {
		if err := h(t.ID); err != nil {
			return err
		}
	}
	committed, unlocked := false, false
	q.b.Queue("COMMIT").Exec(func(tag pgconn.CommandTag) error {
		if tag.String() != "COMMIT" {
			// COMMIT of a failed transaction rolls back and says so only in its tag.
			return fmt.Errorf("commit to warehouse: %w", pgx.ErrTxCommitRollback)
		}
		committed = true
		return nil
	})
	warehouse.QueueUnlockTenant(&q.b, t.ID, &unlocked)
	if err := q.flush(ctx); err != nil && !committed {
		return fmt.Errorf("commit to warehouse: %w", err)
	}
	clean = unlocked
	fpTenantCommit.Hit()
	// The snapshot's transaction is read-only: closing the connection ends it.
	return nil
}

type tenantCheck struct {
	cur catalog.Tenant
	err error
}

// relnames are the warehouse tables of the spec.
func (r *runner) relnames() []string {
	names := make([]string, len(r.o.Spec.Tables))
	for i, t := range r.o.Spec.Tables {
		names[i] = t.Relname()
	}
	return names
}

// queue holds warehouse statements until a round trip needs them sent: b goes before
// the next statement that needs the server's answer (a COPY, a count); the watermarks
// (marks) go only with COMMIT, all of them in one statement.
type queue struct {
	conn  *pgx.Conn
	b     pgx.Batch
	marks []warehouse.Watermark
}

// flush sends the queued statements in one round trip and runs their callbacks.
func (q *queue) flush(ctx context.Context) error {
	if len(q.b.QueuedQueries) == 0 {
		return nil
	}
	b := q.b
	q.b = pgx.Batch{}
	return q.conn.SendBatch(ctx, &b).Close()
}

// flushing is flush as pipe's ready step, its error worded "what: …".
func (q *queue) flushing(what string) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := q.flush(ctx); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
}

// countGuess is a table (by spec index) to count in the snapshot's round trip, with the
// watermark its changed rows are counted from.
type countGuess struct {
	idx  int
	prev int64
}

// sourceCount is a table's row count and the rows written at or after prev.
type sourceCount struct {
	prev, rows, changed int64
}

// guessCounts lists the tables whose last copy was incremental from a watermark: most
// likely copied incrementally again, from that watermark.
func guessCounts(spec Spec, marks map[string]warehouse.Watermark) []countGuess {
	var out []countGuess
	for i, t := range spec.Tables {
		if m, ok := marks[t.Relname()]; ok && t.Mode == ModeIncremental && m.Xmin != nil {
			out = append(out, countGuess{idx: i, prev: *m.Xmin})
		}
	}
	return out
}

// openSnapshot begins the tenant's REPEATABLE READ transaction and, in the same round
// trip, reads the snapshot, describes the spec's tables and counts the guessed ones.
// The counts are the snapshot statement's own rows (one per guessed table, each with the
// snapshot's figures): one statement fewer, and they read the same snapshot since it is
// the transaction's first.
//
// With types (the server's bootstrap types, see bootType) the tables are described the
// quick way (queueQuickDescribe), which fails the batch for anything it cannot read as
// is: the caller then rolls back and calls again without types. Without types the
// description is describeBootstrapSQL's, and the server's bootstrap types are read in the
// same round trip (returned for the next tenants of the server).
func openSnapshot(ctx context.Context, src *pgx.Conn, spec Spec, guess []countGuess, types map[uint32]bootType) (opened, error) {
	tables := map[int]srcTable{}
	counts := map[int]sourceCount{}
	var row [3]string
	b := &pgx.Batch{}
	b.Queue(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`)
	if len(guess) == 0 {
		b.Queue(snapshotSQL).QueryRow(func(r pgx.Row) error { return r.Scan(&row[0], &row[1], &row[2]) })
	} else {
		parts := make([]string, len(guess))
		for i, g := range guess {
			t := spec.Tables[g.idx]
			parts[i] = countSQL(g.idx, pgx.Identifier{t.Schema(), t.Relname()}.Sanitize(), g.prev)
		}
		b.Queue("SELECT " + snapshotColumns + ", c.* FROM pg_current_snapshot() AS s CROSS JOIN (" +
			strings.Join(parts, " UNION ALL ") + ") AS c").Query(func(rows pgx.Rows) error {
			n := 0
			for rows.Next() {
				var i int
				var c sourceCount
				if err := rows.Scan(&row[0], &row[1], &row[2], &i, &c.rows, &c.changed); err != nil {
					return err
				}
				for _, g := range guess {
					if g.idx == i {
						c.prev = g.prev
					}
				}
				counts[i] = c
				n++
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if n != len(guess) {
				return fmt.Errorf("read tenant snapshot: %d rows of counts for %d tables", n, len(guess))
			}
			return nil
		})
	}
	full := false
	op := opened{tables: tables, counts: counts, quick: types != nil}
	if types != nil {
		queueQuickDescribe(b, spec, types, tables, &full)
	} else {
		queueDescribeSource(b, spec, tables, &full)
		queueBootTypes(b, &op.types)
	}
	if err := src.SendBatch(ctx, b).Close(); err != nil {
		return opened{}, err
	}
	if full {
		// A column of a type created after initdb (a domain, an enum, an extension's
		// type): describe again, resolving them.
		op.quick = false
		if err := describeSource(ctx, src, spec, tables); err != nil {
			return opened{}, err
		}
	}
	var err error
	op.snap, err = parseSnapshot(row)
	return op, err
}

// opened is what openSnapshot read.
type opened struct {
	snap   snapshot
	tables map[int]srcTable
	counts map[int]sourceCount
	// quick says the tables were described by queueQuickDescribe (their SourceType
	// without type modifiers).
	quick bool
	// types are the server's bootstrap types, when this call read them.
	types map[uint32]bootType
}

// countSQL counts a table's rows and those written at or after prev, as row idx.
func countSQL(idx int, table string, prev int64) string {
	return fmt.Sprintf("SELECT %d, count(*), count(*) FILTER (WHERE %s) FROM %s", idx, changedSince(prev), table)
}

// snapshotSQL reads the transaction snapshot's bounds and names the tenant database
// (openSnapshot joins the guessed counts to it: snapshotColumns).
const snapshotSQL = `SELECT ` + snapshotColumns + ` FROM pg_current_snapshot() AS s`

const snapshotColumns = `pg_snapshot_xmin(s)::text, pg_snapshot_xmax(s)::text,
		       (SELECT system_identifier FROM pg_control_system())::text || '/' ||
		       (SELECT oid FROM pg_database WHERE datname = current_database())::text`

// connectSource opens the connection that reads a tenant database: the owner's own
// login with ownerPassword (every read is the owner's, and setOwner changes nothing), or,
// for a tenant not yet converted to owner logins, the admin's. The admin role
// inherits the tenant owner's privileges, so plain tables without row-level security
// read the same as the owner would read them; for anything else the run switches to the
// owner (setOwner) — not at connection start, because on PostgreSQL 15 becoming another
// role makes the new session list every role the admin belongs to, a catalog lookup per
// tenant role on the server (about 200 ms per connection with 1,000 tenants on a busy
// 2-core machine). row_security off turns a table whose rows a policy would filter into
// an error instead of silently fewer rows. A big table takes as long as it takes
// (cancellation goes through ctx), and the snapshot stays idle while the warehouse
// merges a table. All of it is set at connection start.
func connectSource(ctx context.Context, srv *tenantdb.Server, id, ownerPassword string) (*pgx.Conn, error) {
	cfg := srv.ConnConfig(tenantdb.Database(id))
	if ownerPassword != "" {
		cfg.User, cfg.Password = tenantdb.OwnerRole(id), ownerPassword
	}
	cfg.RuntimeParams["row_security"] = "off"
	cfg.RuntimeParams["statement_timeout"] = "0"
	cfg.RuntimeParams["idle_in_transaction_session_timeout"] = "3600000"
	// Parallel workers make the counts slower on a busy server, and a rollup is a
	// background job: one backend per tenant read.
	cfg.RuntimeParams["max_parallel_workers_per_gather"] = "0"
	// Every statement on this connection runs once: skip preparing them.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	return dbconn.ConnectConfig(ctx, cfg)
}

// refreshViews refreshes, as the tenant's owner (only the owner of a materialized view
// may refresh it), the spec's materialized views marked refresh: true, before the run's
// snapshot is taken so that it sees their new rows. A spec table that is not a
// materialized view is left alone here (the plan names it). The session is the admin
// role again afterwards.
func refreshViews(ctx context.Context, src *pgx.Conn, spec Spec, id string) error {
	var nsps, rels []string
	for _, t := range spec.Tables {
		if t.Refresh {
			nsps, rels = append(nsps, t.Schema()), append(rels, t.Relname())
		}
	}
	if len(rels) == 0 {
		return nil
	}
	rows, err := src.Query(ctx, `SELECT n.nspname, c.relname FROM unnest($1::text[], $2::text[]) AS w(nsp, rel)
		JOIN pg_namespace n ON n.nspname = w.nsp JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.rel AND c.relkind = 'm'`, nsps, rels)
	if err != nil {
		return fmt.Errorf("find materialized views to refresh: %w", err)
	}
	views, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var n, c string
		err := r.Scan(&n, &c)
		return pgx.Identifier{n, c}.Sanitize(), err
	})
	if err != nil || len(views) == 0 {
		return err
	}
	if err := setOwner(ctx, src, id, ""); err != nil {
		return err
	}
	for _, v := range views {
		if _, err := src.Exec(ctx, "REFRESH MATERIALIZED VIEW "+v); err != nil {
			return fmt.Errorf("refresh materialized view %s as the tenant's owner: %w", v, err)
		}
	}
	if _, err := src.Exec(ctx, "RESET ROLE"); err != nil {
		return err
	}
	fpRefreshed.Hit()
	return nil
}

// setOwner makes the tenant's owner the role reading its database, for the rest of the
// session: row-level security does not filter an owner's reads, and views and foreign
// tables see the owner as their user. prefix runs first, in the same round trip.
func setOwner(ctx context.Context, src *pgx.Conn, id, prefix string) error {
	if _, err := src.PgConn().Exec(ctx, prefix+"SET ROLE "+pgx.Identifier{tenantdb.OwnerRole(id)}.Sanitize()).ReadAll(); err != nil {
		return fmt.Errorf("read the tenant database as its owner: %w", err)
	}
	return nil
}

// allReadableAsIs reports whether every table found reads the same for the admin role
// as for the tenant's owner (see srcTable.readableAsIs).
func allReadableAsIs(tables map[int]srcTable) bool {
	for _, t := range tables {
		if !t.readableAsIs() {
			return false
		}
	}
	return true
}

func parseSnapshot(row [3]string) (snapshot, error) {
	var snap snapshot
	var err1, err2 error
	snap.Xmin, err1 = strconv.ParseInt(row[0], 10, 64)
	snap.Xmax, err2 = strconv.ParseInt(row[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return snap, fmt.Errorf("read tenant snapshot: %w", err)
	}
	snap.Source = row[2]
	return snap, nil
}

// plan checks each spec table against the tenant database and the warehouse (creating
// warehouse tables and columns on first sight) and decides how to copy it.
func (r *runner) plan(ctx context.Context, wconn *pgx.Conn, srcTables map[int]srcTable, have map[string]warehouse.Table,
	marks map[string]warehouse.Watermark, snap snapshot) ([]tablePlan, error) {
	plans := make([]tablePlan, 0, len(r.o.Spec.Tables))
	for i, t := range r.o.Spec.Tables {
		src, found := srcTables[i]
		if err := checkSource(t, src, found); err != nil {
			return nil, err
		}
		if src.Kind == "m" && !src.Populated {
			plans = append(plans, tablePlan{table: t, skip: unpopulatedNote})
			continue
		}
		h, exists := have[t.Relname()]
		if exists {
			// Refuse before touching a table that is not ours or keyed differently.
			if _, err := checkWarehouse(t, srcTable{}, h); err != nil {
				return nil, err
			}
		}
		if needsDDL(h, exists, src) {
			var err error
			if h, err = warehouse.EnsureTable(ctx, wconn, wantTable(t, src)); err != nil {
				return nil, err
			}
		}
		cols, err := checkWarehouse(t, src, h)
		if err != nil {
			return nil, err
		}
		p := tablePlan{table: t, cols: cols, sig: signature(t, cols, h.OID)}
		m, ok := marks[t.Relname()]
		switch {
		case t.Mode == ModeFull:
			p.full = true
		case !ok || m.Xmin == nil:
			p.full, p.reason = true, "first run"
		case m.Source != snap.Source:
			p.full, p.reason = true, "tenant database changed"
		case !sameTable(m.Signature, p.sig):
			p.full, p.reason = true, "warehouse table created again"
		case m.Signature != p.sig:
			p.full, p.reason = true, "columns changed"
		case snap.Xmin < *m.Xmin:
			p.full, p.reason = true, "transaction ids went back"
		case snap.Xmax-*m.Xmin > maxXidDistance:
			p.full, p.reason = true, "last run too long ago"
		default:
			p.prev, p.prevCount = *m.Xmin, m.RowCount
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// countSource counts, in one query on the tenant's snapshot, the rows of every table
// copied incrementally and those of them written since the table's watermark, unless
// openSnapshot counted them already: a table with no changed row is not copied, and its
// count tells deletes apart. One scan per table; no round trip per table.
func countSource(ctx context.Context, stx *pgx.Conn, plans []tablePlan) error {
	var parts []string
	for i, p := range plans {
		if p.full || p.counted || p.skip != "" {
			continue
		}
		parts = append(parts, countSQL(i, pgx.Identifier{p.table.Schema(), p.table.Relname()}.Sanitize(), p.prev))
	}
	if len(parts) == 0 {
		return nil
	}
	rows, err := stx.Query(ctx, strings.Join(parts, " UNION ALL "))
	if err != nil {
		return fmt.Errorf("count tenant rows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var total, changed int64
		if err := rows.Scan(&i, &total, &changed); err != nil {
			return fmt.Errorf("count tenant rows: %w", err)
		}
		plans[i].srcCount, plans[i].changed = total, changed
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count tenant rows: %w", err)
	}
	return nil
}

// changedSince is the condition on a row written at or after the watermark prev. age()
// compares the 32-bit xids relative to the current transaction id, so this holds across
// xid wraparound (plan() falls back to a full copy beyond 2^30). Frozen rows keep their
// xmin; ancient ones may look recent again and are merely read again. It scans the table
// (xmin has no index) but only changed rows move.
func changedSince(prev int64) string {
	return fmt.Sprintf("age(xmin) <= age('%d'::xid)", uint32(prev))
}

// copyTable copies one table of a tenant inside the tenant's warehouse transaction,
// whose statements q holds until a round trip needs them sent.
// For a table copied in full, the delete of the tenant's rows is already queued and
// cleared receives its count.
func (r *runner) copyTable(ctx context.Context, stx *pgx.Conn, q *queue, t catalog.Tenant, p tablePlan, snap snapshot, cleared *int64) (tableCopy, error) {
	tr := tableCopy{TableResult: TableResult{Table: p.table.Relname(), Mode: ModeIncremental, Reason: p.reason,
		Watermark: snap.Xmin, HeldBack: snap.Xmax - snap.Xmin}}
	src := pgx.Identifier{p.table.Schema(), p.table.Relname()}.Sanitize()
	dst := pgx.Identifier{"public", p.table.Relname()}.Sanitize()
	if p.full {
		tr.Mode = ModeFull
		var err error
		tr.RowsCopied, tr.RowsDeleted, err = fullCopy(ctx, stx, q, t.ID, p, src, dst, cleared)
		tr.rowCount = tr.RowsCopied
		return tr, err
	}

	// The rows written since the last run (countSource counted them), staged and merged.
	keys := keyColumns(p.table, p.cols)
	var inserted int64
	if p.changed > 0 {
		stage := pgx.Identifier{"rollup_stage_" + stageSuffix(p.sig)}.Sanitize()
		q.b.Queue("CREATE TEMP TABLE IF NOT EXISTS " + stage + " (" + columnDefs(p.cols) + ") ON COMMIT DELETE ROWS")
		n, err := pipe(ctx, stx.PgConn(), q.conn.PgConn(),
			fmt.Sprintf("COPY (SELECT %s FROM %s WHERE %s) TO STDOUT (FORMAT binary)", selectList(p.cols), src, changedSince(p.prev)),
			fmt.Sprintf("COPY pg_temp.%s (%s) FROM STDIN (FORMAT binary)", stage, columnList(p.cols)),
			q.flushing("create staging table"))
		if err != nil {
			return tr, err
		}
		tr.RowsCopied = n
		// New keys, counted by index probes (proportional to the changed rows) before the
		// merge in the same round trip, so the tenant's rows in the warehouse need not be
		// counted.
		q.b.Queue("SELECT count(*) FROM pg_temp."+stage+" AS k WHERE NOT EXISTS (SELECT FROM "+dst+
			" AS w WHERE w.tenant_id = $1 AND "+keyMatch(keys)+")", t.ID).QueryRow(func(row pgx.Row) error { return row.Scan(&inserted) })
		q.b.Queue(upsertSQL(dst, stage, p), t.ID)
		if err := q.flush(ctx); err != nil {
			return tr, fmt.Errorf("merge changed rows: %w", err)
		}
	}

	// Deletes leave no row to see: compare counts, and only when they differ copy the
	// keys (just the key columns, of every row, from the same snapshot) and delete the
	// warehouse rows whose key the tenant no longer has. After the merge the warehouse
	// holds every key the tenant has, so equal counts mean equal key sets.
	srcCount := p.srcCount
	whCount, err := warehouseCount(ctx, q, dst, t.ID, p.prevCount, inserted)
	if err != nil {
		return tr, err
	}
	if whCount != srcCount {
		keyStage := pgx.Identifier{"rollup_keys_" + stageSuffix(p.sig)}.Sanitize()
		q.b.Queue("CREATE TEMP TABLE IF NOT EXISTS " + keyStage + " (" + columnDefs(keys) + ") ON COMMIT DELETE ROWS")
		// Indexed on the key: the delete below is an anti-join of the tenant's warehouse
		// rows against every key, and with the warehouse table's statistics stale (taken
		// before a large first copy, autovacuum not yet round) the planner, expecting a
		// row or two, picks a nested loop whose inner side would otherwise be a scan of
		// every key for each row — quadratic: 60,000 rows a side kept a server busy for
		// minutes. With the index each probe is a lookup, whatever plan is chosen.
		q.b.Queue("CREATE INDEX IF NOT EXISTS " + pgx.Identifier{"rollup_keys_" + stageSuffix(p.sig) + "_key"}.Sanitize() +
			" ON pg_temp." + keyStage + " (" + columnList(keys) + ")")
		if _, err := pipe(ctx, stx.PgConn(), q.conn.PgConn(),
			fmt.Sprintf("COPY (SELECT %s FROM %s) TO STDOUT (FORMAT binary)", selectList(keys), src),
			fmt.Sprintf("COPY pg_temp.%s (%s) FROM STDIN (FORMAT binary)", keyStage, columnList(keys)),
			q.flushing("create key staging table")); err != nil {
			return tr, fmt.Errorf("copy keys: %w", err)
		}
		tag, err := q.conn.Exec(ctx, "DELETE FROM "+dst+" AS w WHERE w.tenant_id = $1 AND NOT EXISTS (SELECT FROM pg_temp."+
			keyStage+" AS k WHERE "+keyMatch(keys)+")", t.ID)
		if err != nil {
			return tr, fmt.Errorf("delete rows gone from the tenant: %w", err)
		}
		tr.RowsDeleted = tag.RowsAffected()
		whCount -= tr.RowsDeleted
		if whCount != srcCount && p.prevCount != nil {
			// The recorded count may be off (rows changed by hand): count for real.
			if whCount, err = warehouseCount(ctx, q, dst, t.ID, nil, 0); err != nil {
				return tr, err
			}
		}
	}
	if whCount != srcCount {
		// Only possible if someone changed the warehouse rows by hand: start this table over.
		r.o.Log.Warn("warehouse rows disagree with the tenant; copying the table in full", "tenant", t.Slug,
			"table", p.table.Name, "warehouse_rows", whCount, "tenant_rows", srcCount)
		tr.Mode, tr.Reason = ModeFull, "warehouse disagreed with the tenant"
		tr.RowsCopied, tr.RowsDeleted, err = fullCopy(ctx, stx, q, t.ID, p, src, dst, nil)
	}
	tr.rowCount = srcCount
	return tr, err
}

// tableCopy is a table's result plus what its watermark records.
type tableCopy struct {
	TableResult
	rowCount int64
}

// warehouseCount is the tenant's row count in the warehouse table after a merge that
// inserted inserted new keys: from the count the last run recorded, or counted.
func warehouseCount(ctx context.Context, q *queue, dst, tenantID string, prev *int64, inserted int64) (int64, error) {
	if prev != nil {
		return *prev + inserted, nil
	}
	var n int64
	q.b.Queue("SELECT count(*) FROM "+dst+" WHERE tenant_id = $1", tenantID).QueryRow(func(row pgx.Row) error { return row.Scan(&n) })
	if err := q.flush(ctx); err != nil {
		return 0, fmt.Errorf("count warehouse rows: %w", err)
	}
	return n, nil
}

// keyMatch joins k (staged keys) to w (the warehouse table) on the key columns.
func keyMatch(keys []srcColumn) string {
	match := make([]string, len(keys))
	for i, k := range keys {
		id := pgx.Identifier{k.Name}.Sanitize()
		match[i] = "k." + id + " = w." + id
	}
	return strings.Join(match, " AND ")
}

// fullCopy replaces a tenant's rows of a table: delete them, then stream every source
// row straight into the warehouse table with the tenant id added by the source query —
// no staging, no upsert, the speed of a plain COPY pipe. It returns the rows copied and
// how many fewer rows the tenant has than before. cleared, when not nil, is where the
// already queued delete (see queueClear) puts its count; else fullCopy queues one.
func fullCopy(ctx context.Context, stx *pgx.Conn, q *queue, tenantID string, p tablePlan, src, dst string, cleared *int64) (copied, deleted int64, err error) {
	if cleared == nil {
		cleared = new(int64)
		queueClear(&q.b, dst, tenantID, cleared)
	}
	// tenantID passed tenantdb.ValidID ([a-z2-7]{10}): safe as a literal. The delete (with
	// BEGIN, for the run's first table) reaches the warehouse while the source starts.
	copied, err = pipe(ctx, stx.PgConn(), q.conn.PgConn(),
		fmt.Sprintf("COPY (SELECT '%s'::text, %s FROM %s) TO STDOUT (FORMAT binary)", tenantID, selectList(p.cols), src),
		fmt.Sprintf("COPY %s (tenant_id, %s) FROM STDIN (FORMAT binary)", dst, columnList(p.cols)),
		q.flushing("clear the tenant's rows"))
	if err != nil {
		return 0, 0, err
	}
	return copied, max(0, *cleared-copied), nil
}

// queueClear queues the delete of a tenant's rows of warehouse table dst; n receives
// how many there were.
func queueClear(b *pgx.Batch, dst, tenantID string, n *int64) {
	b.Queue("DELETE FROM "+dst+" WHERE tenant_id = $1", tenantID).Exec(func(tag pgconn.CommandTag) error {
		*n = tag.RowsAffected()
		return nil
	})
}

// upsertSQL merges the staged rows into the warehouse table ($1 is the tenant id).
func upsertSQL(dst, stage string, p tablePlan) string {
	cols := columnList(p.cols)
	conflict := []string{pgx.Identifier{warehouse.TenantColumn}.Sanitize()}
	for _, k := range p.table.Key {
		conflict = append(conflict, pgx.Identifier{k}.Sanitize())
	}
	var sets []string
	for _, c := range p.cols {
		if !slices.Contains(p.table.Key, c.Name) {
			id := pgx.Identifier{c.Name}.Sanitize()
			sets = append(sets, id+" = EXCLUDED."+id)
		}
	}
	action := "DO NOTHING"
	if len(sets) > 0 {
		action = "DO UPDATE SET " + strings.Join(sets, ", ")
	}
	return fmt.Sprintf("INSERT INTO %s (tenant_id, %s) SELECT $1::text, %s FROM pg_temp.%s ON CONFLICT (%s) %s",
		dst, cols, cols, stage, strings.Join(conflict, ", "), action)
}
