package mover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// Steps of method logical, recorded in tenant_moves.step like the dump method's.
const (
	// StepSubscribed: the target database exists, with the tenant's schema, hardened;
	// the source publishes the tenant's tables and the target subscribes to them.
	StepSubscribed = "subscribed"
	// StepSynced: every table's initial copy is done; the subscription streams changes.
	StepSynced = "synced"
	// StepCaughtUp: with the tenant suspended, the target applied everything the source
	// wrote, and the sequences were set to the source's values.
	StepCaughtUp = "caught-up"
	// StepDetached: the subscription, its replication slots and the publication are gone.
	StepDetached = "detached"
)

// logicalSteps are the steps of method logical: the tenant is suspended only once the
// target holds a synchronised copy, for the catch-up, verification and switch.
var logicalSteps = []string{StepPlanned, StepTargetRoles, StepSubscribed, StepSynced, StepSuspended, StepCaughtUp, StepVerified, StepDetached, StepSwitched, StepResumed}

// How long the cut-over waits for the subscription to apply the source's last writes.
var catchUpTimeout = 2 * time.Minute

// LogicalCapability is what a server allows for logical replication.
type LogicalCapability struct {
	Server     string
	VersionNum int
	Superuser  bool
	// CreateSubscription: the admin holds pg_create_subscription (PostgreSQL 16+).
	CreateSubscription bool
	// Replication: the admin has the REPLICATION attribute (needed on the source).
	Replication bool
	// WalLevelLogical: wal_level is logical (needed on the source).
	WalLevelLogical bool
}

// Allowed reports whether the admin may create a subscription on this server.
func (c LogicalCapability) Allowed() bool {
	return c.Superuser || (c.VersionNum >= 160000 && c.CreateSubscription)
}

// CheckLogical reads a server's logical replication capability through its admin role.
func CheckLogical(ctx context.Context, srv *tenantdb.Server) (LogicalCapability, error) {
	c := LogicalCapability{Server: srv.Name}
	conn, err := srv.Connect(ctx, "postgres")
	if err != nil {
		return c, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	err = conn.QueryRow(ctx, `
		SELECT current_setting('server_version_num')::int, r.rolsuper,
		       EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname = 'pg_create_subscription' AND pg_has_role(current_user, g.oid, 'USAGE')),
		       r.rolreplication,
		       current_setting('wal_level') = 'logical'
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&c.VersionNum, &c.Superuser, &c.CreateSubscription, &c.Replication, &c.WalLevelLogical)
	if err != nil {
		return c, fmt.Errorf("check logical replication on %s: %w", srv.Name, err)
	}
	return c, nil
}

// checkLogical refuses method logical unless both servers allow it and every table of
// the tenant can be replicated (a table without a replica identity would make the
// application's UPDATE and DELETE fail on the source once it is published).
func (m *Mover) checkLogical(ctx context.Context, src, dst *tenantdb.Server, id string) error {
	for _, s := range []*tenantdb.Server{src, dst} {
		c, err := CheckLogical(ctx, s)
		if err != nil {
			return err
		}
		if !c.Allowed() {
			return validate.Invalid(fmt.Errorf("server %s (PostgreSQL %d, admin %s, superuser %v, pg_create_subscription %v): %w; use method dump",
				s.Name, c.VersionNum/10000, s.AdminRole(), c.Superuser, c.CreateSubscription, ErrLogicalUnsupported))
		}
		if s == src && !c.WalLevelLogical {
			return validate.Errorf("server %s has wal_level other than logical: method logical needs wal_level = logical on the source; use method dump", s.Name)
		}
		if s == src && !c.Superuser && !c.Replication {
			return validate.Errorf("the admin role %s of server %s lacks REPLICATION: method logical reads the source through a replication slot; use method dump", s.AdminRole(), s.Name)
		}
	}
	conn, err := src.Connect(ctx, tenantdb.Database(id))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var bad []string
	rows, err := conn.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
		  AND (c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)))
		ORDER BY 1`)
	if err == nil {
		bad, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return fmt.Errorf("check the tables of %s: %w", tenantdb.Database(id), err)
	}
	if len(bad) > 0 {
		return validate.Errorf("tables without a primary key or replica identity cannot be replicated (%s): use method dump", strings.Join(bad, ", "))
	}
	return nil
}

// replName names the publication, the subscription and its replication slot of a move.
func replName(moveID int64) string { return tenantdb.MoveReplicationName(moveID) }

// logicalStep runs one step of method logical.
func (m *Mover) logicalStep(ctx context.Context, step string, src, dst *tenantdb.Server, mv catalog.Move) error {
	switch step {
	case StepSubscribed:
		// Everything starts again from nothing: a killed run may have left a
		// subscription half-copied into tables this run would copy into again.
		if err := m.dropReplication(ctx, mv); err != nil {
			return err
		}
		if err := recreateDatabase(ctx, dst, mv.TenantID); err != nil {
			return err
		}
		if _, err := pipeDumpRestore(ctx, src, dst, mv.TenantID, "--schema-only"); err != nil {
			return err
		}
		if err := dst.Harden(ctx, mv.TenantID); err != nil {
			return err
		}
		if err := createPublication(ctx, src, mv); err != nil {
			return err
		}
		fpMovePublished.Hit()
		return createSubscription(ctx, src, dst, mv)
	case StepSynced:
		return waitSynced(ctx, dst, mv, m)
	case StepCaughtUp:
		if err := waitCaughtUp(ctx, src, mv); err != nil {
			return err
		}
		if err := syncSequences(ctx, src, dst, mv.TenantID); err != nil {
			return err
		}
		return refreshViews(ctx, src, dst, mv.TenantID)
	case StepDetached:
		return m.dropReplication(ctx, mv)
	}
	return fmt.Errorf("unknown step %s", step)
}

// execSimple runs one statement with the simple protocol (no prepared statement keeps
// its text; CREATE SUBSCRIPTION refuses to run in a transaction block).
func execSimple(ctx context.Context, conn *pgx.Conn, sql string) error {
	_, err := conn.PgConn().Exec(ctx, sql).ReadAll()
	return err
}

// connectAsAdmin connects to the tenant's database on srv as its admin role, and
// reports whether that role is a superuser (what a publication or subscription may then
// be made with).
func connectAsAdmin(ctx context.Context, srv *tenantdb.Server, id string) (*pgx.Conn, bool, error) {
	conn, err := srv.Connect(ctx, tenantdb.Database(id))
	if err != nil {
		return nil, false, err
	}
	var super bool
	if err := conn.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, false, err
	}
	return conn, super, nil
}

func createPublication(ctx context.Context, src *tenantdb.Server, mv catalog.Move) error {
	conn, super, err := connectAsAdmin(ctx, src, mv.TenantID)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	name := pgx.Identifier{replName(mv.ID)}.Sanitize()
	stmt := "CREATE PUBLICATION " + name + " FOR ALL TABLES"
	if !super {
		// FOR ALL TABLES needs a superuser; the owner may publish its own tables.
		var tables []string
		rows, err := conn.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%' ORDER BY 1`)
		if err == nil {
			tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil {
			return err
		}
		if len(tables) == 0 {
			return fmt.Errorf("%s has no table to publish", tenantdb.Database(mv.TenantID))
		}
		// As the owner, in a transaction during which the admin is a member of it: the
		// admin holds no standing membership in tenant roles.
		stmt = "CREATE PUBLICATION " + name + " FOR TABLE " + strings.Join(tables, ", ")
		if err := src.AsOwner(ctx, conn, mv.TenantID, func(tx pgx.Tx) error { return execSimple(ctx, tx.Conn(), stmt) }); err != nil && !dbconnHas(err, pgerrcode.DuplicateObject) {
			return fmt.Errorf("create publication on %s: %w", src.Name, err)
		}
		return nil
	}
	if err := execSimple(ctx, conn, stmt); err != nil && !dbconnHas(err, pgerrcode.DuplicateObject) {
		return fmt.Errorf("create publication on %s: %w", src.Name, err)
	}
	return nil
}

func dbconnHas(err error, codes ...string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	for _, c := range codes {
		if pgErr.Code == c {
			return true
		}
	}
	return false
}

// quoteLiteral quotes a string constant (standard_conforming_strings is on).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// createSubscription subscribes the target database to the source's publication. The
// connection string holds the source admin's password: it goes to the server only in
// this statement (whose logging the session turns off where the admin may) and is
// kept in pg_subscription, which only superusers read; the subscription is dropped at
// the end of the move.
func createSubscription(ctx context.Context, src, dst *tenantdb.Server, mv catalog.Move) error {
	conn, super, err := connectAsAdmin(ctx, dst, mv.TenantID)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if super {
		for _, s := range []string{"SET log_statement = 'none'", "SET log_min_error_statement = 'panic'", "SET log_min_duration_statement = -1"} {
			if err := execSimple(ctx, conn, s); err != nil {
				return err
			}
		}
	}
	name := pgx.Identifier{replName(mv.ID)}.Sanitize()
	// synchronous_commit on: the subscription confirms a change to the source as soon as
	// it applied it (not once the target's WAL writer flushed it), which is what the
	// cut-over waits for.
	stmt := "CREATE SUBSCRIPTION " + name + " CONNECTION " + quoteLiteral(src.AdminConnInfo(tenantdb.Database(mv.TenantID))) +
		" PUBLICATION " + name + " WITH (copy_data = true, create_slot = true, synchronous_commit = 'on', slot_name = " + quoteLiteral(replName(mv.ID)) + ")"
	if err := execSimple(ctx, conn, stmt); err != nil {
		// The error names neither the statement nor the connection string.
		return fmt.Errorf("create subscription on %s to %s: %w", dst.Name, src.Name, err)
	}
	return nil
}

// waitSynced waits until the subscription copied every table.
func waitSynced(ctx context.Context, dst *tenantdb.Server, mv catalog.Move, m *Mover) error {
	conn, err := dst.Connect(ctx, tenantdb.Database(mv.TenantID))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	last := time.Now()
	for {
		var total, pending int
		var exists bool
		err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_subscription WHERE subname = $1),
			count(sr.*), count(sr.*) FILTER (WHERE sr.srsubstate NOT IN ('r', 's'))
			FROM pg_subscription s JOIN pg_subscription_rel sr ON sr.srsubid = s.oid WHERE s.subname = $1`, replName(mv.ID)).Scan(&exists, &total, &pending)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("the subscription %s is missing on %s", replName(mv.ID), dst.Name)
		}
		if total > 0 && pending == 0 {
			return nil
		}
		if time.Since(last) > 10*time.Second {
			m.Log.Info("initial copy in progress", "tenant", mv.Slug, "tables", total, "pending", pending)
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitCaughtUp waits, with the tenant suspended, until no session of its app role is
// left on the source and the subscription confirmed everything the source wrote.
func waitCaughtUp(ctx context.Context, src *tenantdb.Server, mv catalog.Move) error {
	conn, err := src.Connect(ctx, tenantdb.Database(mv.TenantID))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	deadline := time.Now().Add(catchUpTimeout)
	var target string
	for {
		var sessions int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE usename = $1`, tenantdb.AppRole(mv.TenantID)).Scan(&sessions); err != nil {
			return err
		}
		if sessions == 0 {
			if target == "" {
				if err := conn.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&target); err != nil {
					return err
				}
			}
			var done *bool
			if err := conn.QueryRow(ctx, `SELECT (SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE slot_name = $2)`,
				target, replName(mv.ID)).Scan(&done); err != nil {
				return err
			}
			if done == nil {
				return fmt.Errorf("the replication slot %s is missing on %s", replName(mv.ID), src.Name)
			}
			if *done {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the subscription did not catch up with %s within %s", src.Name, catchUpTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// syncSequences gives the target's sequences the source's values, which logical
// replication does not copy.
func syncSequences(ctx context.Context, src, dst *tenantdb.Server, id string) error {
	db := tenantdb.Database(id)
	sc, err := src.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer sc.Close(context.WithoutCancel(ctx))
	dc, err := dst.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer dc.Close(context.WithoutCancel(ctx))
	var seqs []string
	rows, err := sc.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	if err == nil {
		seqs, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return fmt.Errorf("list sequences of %s on %s: %w", db, src.Name, err)
	}
	// Read on the source, then written on the target, each as the owner in one
	// transaction during which the admin is a member of it.
	type value struct {
		last   int64
		called bool
	}
	values := make([]value, len(seqs))
	if err := src.AsOwner(ctx, sc, id, func(tx pgx.Tx) error {
		for i, seq := range seqs {
			if err := tx.QueryRow(ctx, "SELECT last_value, is_called FROM "+seq).Scan(&values[i].last, &values[i].called); err != nil {
				return fmt.Errorf("read sequence %s on %s: %w", seq, src.Name, err)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return dst.AsOwner(ctx, dc, id, func(tx pgx.Tx) error {
		for i, seq := range seqs {
			if _, err := tx.Exec(ctx, "SELECT setval($1::regclass, $2, $3)", seq, values[i].last, values[i].called); err != nil {
				return fmt.Errorf("set sequence %s on %s: %w", seq, dst.Name, err)
			}
		}
		return nil
	})
}

// refreshViews populates on the target the materialized views populated on the source:
// logical replication carries table rows only, and the target's schema came from a
// schema-only dump (materialized views created WITH NO DATA). Each is refreshed, as the
// tenant's owner, from the replicated tables once they have caught up — so it holds what
// a REFRESH on the source would give. Views the source never populated stay so. In
// creation order, so a view built on another comes after it.
func refreshViews(ctx context.Context, src, dst *tenantdb.Server, id string) error {
	db := tenantdb.Database(id)
	sc, err := src.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer sc.Close(context.WithoutCancel(ctx))
	rows, err := sc.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'm' AND c.relispopulated AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY c.oid`)
	var views []string
	if err == nil {
		views, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return fmt.Errorf("list materialized views of %s on %s: %w", db, src.Name, err)
	}
	if len(views) == 0 {
		return nil
	}
	dc, err := dst.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer dc.Close(context.WithoutCancel(ctx))
	return dst.AsOwner(ctx, dc, id, func(tx pgx.Tx) error {
		for _, v := range views {
			if _, err := tx.Exec(ctx, "REFRESH MATERIALIZED VIEW "+v); err != nil {
				return fmt.Errorf("refresh materialized view %s on %s: %w", v, dst.Name, err)
			}
		}
		return nil
	})
}

// dropReplication drops what method logical set up for a move, whatever is left of it:
// the subscription on the target (detached from its slot first, so dropping it needs
// no connection to the source), then every replication slot on the source's tenant
// database (the subscription's and its table-copy slots) and the publication. Missing
// pieces, databases or servers are not errors.
func (m *Mover) dropReplication(ctx context.Context, mv catalog.Move) error {
	ctx = context.WithoutCancel(ctx)
	name := replName(mv.ID)
	db := tenantdb.Database(mv.TenantID)
	if _, err := m.Store.GetServer(ctx, mv.Target); err == nil {
		dst, err := m.Server(ctx, mv.Target)
		if err != nil {
			return err
		}
		if dropped, err := dropSubscription(ctx, dst, db, name); err != nil {
			return err
		} else if dropped {
			fpMoveUnsubscribed.Hit()
		}
	} else if !errors.Is(err, catalog.ErrServerNotFound) {
		return err
	}
	if _, err := m.Store.GetServer(ctx, mv.Source); err == nil {
		src, err := m.Server(ctx, mv.Source)
		if err != nil {
			return err
		}
		if err := dropSlotsAndPublication(ctx, src, db, name); err != nil {
			return err
		}
	} else if !errors.Is(err, catalog.ErrServerNotFound) {
		return err
	}
	return nil
}

// dropSubscription drops the move's subscription, if there is one, and reports whether
// there was.
func dropSubscription(ctx context.Context, dst *tenantdb.Server, db, name string) (bool, error) {
	if ok, err := dst.DatabaseExists(ctx, db); err != nil || !ok {
		return false, err
	}
	conn, err := dst.Connect(ctx, db)
	if err != nil {
		if dbconnHas(err, pgerrcode.InvalidCatalogName) {
			return false, nil
		}
		return false, err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_subscription WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()))`, name).Scan(&exists); err != nil {
		return false, err
	}
	if !exists {
		return false, nil
	}
	id := pgx.Identifier{name}.Sanitize()
	for _, stmt := range []string{
		"ALTER SUBSCRIPTION " + id + " DISABLE",
		"ALTER SUBSCRIPTION " + id + " SET (slot_name = NONE)",
		"DROP SUBSCRIPTION IF EXISTS " + id,
	} {
		if err := execSimple(ctx, conn, stmt); err != nil && !dbconnHas(err, pgerrcode.UndefinedObject) {
			return false, fmt.Errorf("drop subscription %s on %s: %w", name, dst.Name, err)
		}
	}
	return true, nil
}

func dropSlotsAndPublication(ctx context.Context, src *tenantdb.Server, db, name string) error {
	if ok, err := src.DatabaseExists(ctx, db); err != nil || !ok {
		return err
	}
	conn, err := src.Connect(ctx, db)
	if err != nil {
		if dbconnHas(err, pgerrcode.InvalidCatalogName) {
			return nil
		}
		return err
	}
	defer conn.Close(ctx)
	// The target's workers were stopped with the subscription, but their walsenders may
	// still hold the slots for a moment: end them and retry.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var left int
		err := conn.QueryRow(ctx, `WITH s AS (SELECT slot_name, active_pid FROM pg_replication_slots WHERE database = current_database()),
			t AS (SELECT pg_terminate_backend(active_pid) FROM s WHERE active_pid IS NOT NULL),
			d AS (SELECT slot_name FROM s WHERE active_pid IS NULL)
			SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM s WHERE active_pid IS NOT NULL)`).Scan(&left)
		if err != nil {
			return fmt.Errorf("end replication on %s: %w", src.Name, err)
		}
		var slots []string
		rows, err := conn.Query(ctx, `SELECT slot_name::text FROM pg_replication_slots WHERE database = current_database() AND NOT active`)
		if err == nil {
			slots, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil {
			return err
		}
		for _, s := range slots {
			if _, err := conn.Exec(ctx, `SELECT pg_drop_replication_slot($1)`, s); err != nil && !dbconnHas(err, pgerrcode.UndefinedObject, pgerrcode.ObjectInUse) {
				return fmt.Errorf("drop replication slot %s on %s: %w", s, src.Name, err)
			}
		}
		var remaining int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_replication_slots WHERE database = current_database()`).Scan(&remaining); err != nil {
			return err
		}
		if remaining == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d replication slots of %s on %s are still in use", remaining, db, src.Name)
		}
		// A terminated walsender lets go of its slot within milliseconds.
		time.Sleep(20 * time.Millisecond)
	}
	if err := execSimple(ctx, conn, "DROP PUBLICATION IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("drop publication %s on %s: %w", name, src.Name, err)
	}
	return nil
}
