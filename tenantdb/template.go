package tenantdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jackc/pgerrcode"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pglock"
	"github.com/tenantctl/tenantctl/migrations"
)

// Template describes a server's template database.
type Template struct {
	Name    string
	Hash    string
	Version int64
	// Built is true when this call built it (false: it was already there).
	Built bool
	// Fingerprint is its fingerprint (see [Server.Fingerprint]): taken by the build, or
	// as recorded in the catalog when it was already there.
	Fingerprint string
	// Witness is the version of the template's pg_database row that EnsureTemplate saw,
	// ready, when it found it already built ("" when it built it): see
	// [Server.TemplateWitness].
	Witness string
	// CloneWitness is the witness under which an earlier clone matched Fingerprint, as
	// the catalog records it ("" when none); set by the caller that read the catalog.
	CloneWitness string
}

// EnsureTemplate returns the server's template database for the migration set fsys
// (named by its hash), building it when missing. The build runs under an advisory lock
// held on one dedicated connection, so concurrent callers build it once; the template is
// marked ready only as its very last step (ALLOW_CONNECTIONS false, which clones also
// need: a single session on a template makes every clone wait and fail). A template
// found half-built is dropped and rebuilt.
func (s *Server) EnsureTemplate(ctx context.Context, fsys fs.FS) (t Template, retErr error) {
	hash, err := migrations.Hash(fsys)
	if err != nil {
		return t, err
	}
	t = Template{Name: TemplateName(hash), Hash: hash}
	t.Version, err = migrations.Latest(fsys)
	if err != nil {
		return t, err
	}
	pooled, release, err := s.admin(ctx)
	if err != nil {
		return t, err
	}
	ready, _, witness, err := templateState(ctx, pooled, t.Name)
	release()
	if err != nil || ready {
		t.Witness = witness
		return t, err
	}
	// The build lock lives on a dedicated session: it ends with the session if we die.
	conn, err := s.Connect(ctx, "postgres")
	if err != nil {
		return t, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	key := pglock.Key("template:" + t.Name)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return t, fmt.Errorf("lock template build: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key); err != nil && retErr == nil {
			retErr = err
		}
	}()
	fpTemplateLocked.Hit()
	// Someone may have finished it while we waited for the lock.
	if ready, exists, _, err = templateState(ctx, conn, t.Name); err != nil || ready {
		return t, err
	}
	if exists {
		if err := s.DropTemplate(ctx, t.Name); err != nil {
			return t, fmt.Errorf("drop half-built template: %w", err)
		}
	}
	if err := s.ensureTemplateOwner(ctx, conn); err != nil {
		return t, err
	}
	name := ident(t.Name)
	// Owned by the admin from the start, never by the template owner: REASSIGN OWNED BY
	// the template owner in a clone (hardening a new tenant) also reassigns the
	// *databases* that role owns, so a template owned by it while being built would be
	// handed to whichever tenant is created meanwhile. The template owner gets CREATE on
	// schema public for the build instead, taken back before the ready mark.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		return t, fmt.Errorf("create template %s: %w", t.Name, err)
	}
	if err := s.execIn(ctx, t.Name, "GRANT CREATE ON SCHEMA public TO "+ident(TemplateOwnerRole)); err != nil {
		return t, fmt.Errorf("prepare template %s: %w", t.Name, err)
	}
	fpTemplateCreated.Hit()
	p, err := s.provider(ctx, t.Name, TemplateOwnerRole, fsys, MigrateOptions{})
	if err != nil {
		return t, err
	}
	if _, err := p.Up(ctx); err != nil {
		p.Close()
		return t, fmt.Errorf("migrate template %s: %w", t.Name, migrations.Describe(err))
	}
	if err := p.Close(); err != nil {
		return t, err
	}
	if err := s.execIn(ctx, t.Name, "REVOKE CREATE ON SCHEMA public FROM "+ident(TemplateOwnerRole)); err != nil {
		return t, fmt.Errorf("finish template %s: %w", t.Name, err)
	}
	// What every clone must match: taken once nothing changes in it any more.
	if t.Fingerprint, err = s.Fingerprint(ctx, t.Name); err != nil {
		return t, fmt.Errorf("finish template %s: %w", t.Name, err)
	}
	fpTemplateMigrated.Hit()
	for _, stmt := range []string{
		"ALTER DATABASE " + name + " OWNER TO " + ident(s.AdminRole()),
		"REVOKE ALL ON DATABASE " + name + " FROM PUBLIC",
		"ALTER DATABASE " + name + " IS_TEMPLATE true",
		"ALTER DATABASE " + name + " ALLOW_CONNECTIONS false", // the ready mark: last
	} {
		if err := execRetryingConcurrentUpdate(ctx, conn, stmt); err != nil {
			return t, fmt.Errorf("finish template %s: %w", t.Name, err)
		}
		fpTemplateFinishing.Hit()
	}
	t.Built = true
	return t, nil
}

// templateState reports whether a template exists and is ready, and the witness of a
// ready one ([Server.TemplateWitness]).
func templateState(ctx context.Context, conn *pgx.Conn, name string) (ready, exists bool, witness string, err error) {
	var allow, isTemplate bool
	// QueryExecModeExec: one round trip, where a process that has prepared nothing yet
	// (every CLI command) would spend two on preparing it first.
	err = conn.QueryRow(ctx, `SELECT datallowconn, datistemplate, `+witnessExpr+` FROM pg_database d WHERE datname = $1`, pgx.QueryExecModeExec, name).Scan(&allow, &isTemplate, &witness)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, "", nil
	}
	if err != nil {
		return false, false, "", err
	}
	ready = !allow && isTemplate
	if !ready {
		witness = ""
	}
	return ready, true, witness, nil
}

// witnessExpr is the version of a pg_database row d: its oid, the transaction that wrote
// it (xmin) and its place (ctid).
const witnessExpr = `d.oid::text || '/' || d.xmin::text || '/' || d.ctid::text`

// TemplateWitness returns the version of template name's pg_database row — its oid, the
// transaction that wrote that version (xmin) and its place in the table (ctid) — or ""
// when the template is missing or accepts connections.
//
// It proves that nobody entered the template between two readings: a database whose
// ALLOW_CONNECTIONS is false takes no new session, the superuser's included, and
// opening it to one (ALTER DATABASE … ALLOW_CONNECTIONS true), renaming it, dropping it
// and making it again, granting on it or changing its owner each write a new version of
// the row, with a new xmin, which a later version never shares (an in-place update, as
// VACUUM makes of datfrozenxid, keeps both; it changes nothing a clone carries). The
// same version read before and after a CREATE DATABASE … TEMPLATE, which itself fails
// while any session is in the template, means the clone is the template as it was
// while that version stood. What it cannot see: a server's superuser writing the
// template's files, starting the server single-user, or loading a background worker
// allowed past ALLOW_CONNECTIONS — powers over the whole server, every tenant included.
func (s *Server) TemplateWitness(ctx context.Context, name string) (string, error) {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	ready, _, witness, err := templateState(ctx, conn, name)
	if err != nil {
		return "", fmt.Errorf("read the state of template %s: %w", name, err)
	}
	if !ready {
		return "", nil
	}
	return witness, nil
}

func (s *Server) ensureTemplateOwner(ctx context.Context, conn *pgx.Conn) error {
	if err := s.ensureRole(ctx, conn, TemplateOwnerRole, "NOLOGIN INHERIT"); err != nil {
		return err
	}
	return s.grantToAdmin(ctx, conn, TemplateOwnerRole)
}

// DropTemplate drops a template database (missing is fine).
func (s *Server) DropTemplate(ctx context.Context, name string) error {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	// A DROP DATABASE interrupted (the process killed mid-way) leaves the database
	// invalid: no ALTER is allowed on it any more, and none is needed (the drop had
	// passed its template check), so the drop is finished.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(name)+" IS_TEMPLATE false"); err != nil &&
		!dbconn.HasCode(err, pgerrcode.InvalidCatalogName) && !dbconn.HasCode(err, pgerrcode.ObjectNotInPrerequisiteState) {
		return fmt.Errorf("unmark template %s: %w", name, err)
	}
	fpTemplateDropped.Hit()
	return s.dropDatabase(ctx, name)
}

// ListTemplates returns the names of the template databases on the server.
func (s *Server) ListTemplates(ctx context.Context) ([]string, error) {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1`, TemplatePrefix)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// execRetryingConcurrentUpdate runs an idempotent catalog statement, retrying a few
// times when PostgreSQL reports "tuple concurrently updated" (XX000): ALTER DATABASE and
// GRANT take no lock against other sessions updating the same shared catalog rows, so
// concurrent provisioning on one server can collide there.
func execRetryingConcurrentUpdate(ctx context.Context, conn *pgx.Conn, stmt string) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if _, err = conn.Exec(ctx, stmt); !dbconn.ConcurrentlyUpdated(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
	return err
}

// execIn runs one statement as the admin in database db, on a connection of its own.
func (s *Server) execIn(ctx context.Context, db, stmt string) error {
	conn, err := s.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, stmt)
	return err
}

// TemplateReady reports whether a database found on the server is a finished template:
// marked IS_TEMPLATE with ALLOW_CONNECTIONS false, the last step of a build.
func TemplateReady(d DBInfo) bool { return d.IsTemplate && !d.AllowConn }

// DropHalfBuiltTemplate drops a template database whose build was interrupted (a
// process killed while building it). It takes the template's build lock first, without
// waiting: a template some process is building right now is left alone (dropped is
// false), and so is one that turns out finished.
func (s *Server) DropHalfBuiltTemplate(ctx context.Context, name string) (dropped bool, retErr error) {
	if !strings.HasPrefix(name, TemplatePrefix) {
		return false, fmt.Errorf("%s is not a tenantctl template", name)
	}
	conn, err := s.Connect(ctx, "postgres")
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var got bool
	key := pglock.Key("template:" + name)
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
		return false, fmt.Errorf("lock template build: %w", err)
	}
	if !got {
		return false, nil
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key); err != nil && retErr == nil {
			retErr = err
		}
	}()
	ready, exists, _, err := templateState(ctx, conn, name)
	if err != nil || ready || !exists {
		return false, err
	}
	if err := s.DropTemplate(ctx, name); err != nil {
		return false, err
	}
	return true, nil
}
