package tenantdb

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// ensureSpareRoles makes a spare's roles like a tenant's, confined like any tenant's,
// but with the app role NOLOGIN and without a password: the claim only has to give it
// both.
func (s *Server) ensureSpareRoles(ctx context.Context, id string) error {
	return s.ensureRoles(ctx, id, "create roles of spare "+Database(id), ownerNoLogin,
		fmt.Sprintf("NOLOGIN NOINHERIT CONNECTION LIMIT %d PASSWORD NULL", AppConnectionLimit))
}

// EnsureSpareRoles creates the roles of a spare database of the warm pool: the owner
// (NOLOGIN, as for any tenant), the app role NOLOGIN and without a password, so the
// spare cannot be reached by anyone until a tenant claims it, and the group role and
// memberships that confine tenant logins. Existing roles are brought back to exactly
// that. Idempotent; one round trip.
func (s *Server) EnsureSpareRoles(ctx context.Context, id string) error {
	return retryUnique(ctx, func() error { return s.ensureSpareRoles(ctx, id) })
}

// ActivateApp gives a claimed spare's app role its password and LOGIN, and its owner
// role its own password and LOGIN (SCRAM verifiers computed here), in one round trip
// and one implicit transaction: the only server change a claim makes.
func (s *Server) ActivateApp(ctx context.Context, id, password, ownerPassword string) error {
	lit, err := verifierLiteral(password)
	if err != nil {
		return err
	}
	ownerAttrs, err := ownerLoginAttrs(ownerPassword)
	if err != nil {
		return err
	}
	return s.execAdmin(ctx, "activate "+AppRole(id),
		"ALTER ROLE "+ident(AppRole(id))+" LOGIN PASSWORD "+lit,
		"ALTER ROLE "+ident(OwnerRole(id))+" "+ownerAttrs)
}

// SpareState is what the server holds of one spare: whether its database and roles
// exist, whether the app role can log in, and (when the admin may read pg_authid, i.e.
// is a superuser) whether it has a password.
type SpareState struct {
	Database, Owner, App bool
	AppLogin             bool
	// AppPassword is nil when the admin cannot tell (pg_authid is superuser-only).
	AppPassword *bool
}

// InspectSpare reads the server-level state of a spare.
func (s *Server) InspectSpare(ctx context.Context, id string) (SpareState, error) {
	var st SpareState
	conn, release, err := s.admin(ctx)
	if err != nil {
		return st, err
	}
	defer release()
	err = conn.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM pg_database WHERE datname = $1),
			EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2),
			EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $3),
			coalesce((SELECT rolcanlogin FROM pg_roles WHERE rolname = $3), false)`,
		Database(id), OwnerRole(id), AppRole(id)).Scan(&st.Database, &st.Owner, &st.App, &st.AppLogin)
	if err != nil {
		return st, fmt.Errorf("inspect spare %s: %w", Database(id), err)
	}
	var super bool
	if err := conn.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err != nil {
		return st, err
	}
	if super {
		var has bool
		if err := conn.QueryRow(ctx, `SELECT coalesce((SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = $1), false)`,
			AppRole(id)).Scan(&has); err != nil {
			return st, err
		}
		st.AppPassword = &has
	}
	return st, nil
}

// HasRows reports the user tables of a database whose heap is not empty (goose's
// version table aside): a spare must be empty, and a table that holds rows, or held
// rows not yet vacuumed away, has been written to. One catalog query on one admin
// connection: relation sizes need no privilege on the tables, which are the owner's
// (the admin holds no standing membership in it), and the audit, which calls this,
// changes nothing (no transient grant).
func (s *Server) HasRows(ctx context.Context, db string) ([]string, error) {
	conn, err := s.Connect(ctx, db)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		  AND n.nspname NOT LIKE 'pg\_%' AND c.relname <> 'goose_db_version'
		  AND pg_relation_size(c.oid) > 0
		ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("look for rows in %s: %w", db, err)
	}
	full, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("look for rows in %s: %w", db, err)
	}
	return full, nil
}

// retryUnique runs fn again while it fails with a unique violation on a shared catalog
// (pg_database, pg_authid): a session of a killed tenantctl process may still be
// creating the same database or role on the server (a backend finishes its statement
// before it notices its client is gone), and the rerun must wait for it rather than
// fail. After that session commits, fn's own "already exists" handling applies.
func retryUnique(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		if err = fn(); err == nil || !dbconn.HasCode(err, pgerrcode.UniqueViolation) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return err
}
