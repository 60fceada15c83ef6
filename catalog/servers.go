package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jackc/pgerrcode"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// Server is a registered PostgreSQL server that holds tenant databases. Its admin DSN is
// sealed in the catalog and only returned by [Store.ServerDSN].
type Server struct {
	Name            string            `json:"name"`
	Host            string            `json:"host"`
	Port            int               `json:"port"`
	AdminRole       string            `json:"admin_role"`
	VersionNum      int               `json:"server_version_num"`
	Capacity        int               `json:"capacity"`
	Tenants         int               `json:"tenants"`
	Draining        bool              `json:"draining"`
	Labels          map[string]string `json:"labels"`
	CloneStrategy   string            `json:"clone_strategy"`
	TemplateDB      string            `json:"template_db,omitempty"`
	TemplateHash    string            `json:"template_hash,omitempty"`
	TemplateVersion *int64            `json:"template_version"`
	// Spares is how many spare databases the server keeps ready (the warm pool);
	// SparesReady how many are ready now. Spares count against capacity.
	Spares      int       `json:"spares"`
	SparesReady int       `json:"spares_ready"`
	CreatedAt   time.Time `json:"created_at"`
	// NextSpares are the oldest ready spares (up to 4, oldest first): a create logs in
	// to one of them while the catalog claims it, and the claim takes that one when no
	// concurrent create holds it ([SpareClaim.Prefer]). Not shown.
	NextSpares []string `json:"-"`
}

// Free is the number of tenants the server can still take.
func (s Server) Free() int { return s.Capacity - s.Tenants }

func serverLabel(name string) string { return "server/" + name + "/dsn" }

// AddServer registers srv with its admin dsn, sealed.
func (s *Store) AddServer(ctx context.Context, srv Server, dsn string) error {
	box, err := s.Box(ctx)
	if err != nil {
		return err
	}
	if srv.Labels == nil {
		srv.Labels = map[string]string{}
	}
	if srv.CloneStrategy == "" {
		srv.CloneStrategy = "file_copy"
	}
	return s.InTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO servers (name, dsn_sealed, host, port, admin_role, version_num, capacity, labels, clone_strategy, spares)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			srv.Name, box.SealString(dsn, serverLabel(srv.Name)), srv.Host, srv.Port, srv.AdminRole, srv.VersionNum,
			srv.Capacity, srv.Labels, srv.CloneStrategy, srv.Spares)
		if dbconn.HasCode(err, pgerrcode.UniqueViolation) {
			return validate.Invalid(fmt.Errorf("server %q: %w", srv.Name, ErrServerExists))
		}
		if err != nil {
			return fmt.Errorf("register server %q: %w", srv.Name, staleKeyError(err, box))
		}
		return s.AppendEvent(ctx, tx, Event{Action: "server.add", Details: map[string]any{
			"server": srv.Name, "host": srv.Host, "port": srv.Port, "admin_role": srv.AdminRole,
			"capacity": srv.Capacity, "labels": srv.Labels, "spares": srv.Spares,
		}})
	})
}

const serverColumns = `s.name, s.host, s.port, s.admin_role, s.version_num, s.capacity,
	(SELECT count(*) FROM tenants t WHERE t.server = s.name AND t.state <> 'purged')::int,
	s.draining, s.labels, s.clone_strategy, coalesce(s.template_db, ''), coalesce(s.template_hash, ''),
	s.template_version, s.spares,
	(SELECT count(*) FROM spares p WHERE p.server = s.name AND p.state = 'ready')::int, s.created_at,
	ARRAY(SELECT p.id FROM spares p WHERE p.server = s.name AND p.state = 'ready' ORDER BY p.created_at LIMIT 4)`

func scanServer(row pgx.Row) (Server, error) {
	var srv Server
	err := row.Scan(&srv.Name, &srv.Host, &srv.Port, &srv.AdminRole, &srv.VersionNum, &srv.Capacity, &srv.Tenants,
		&srv.Draining, &srv.Labels, &srv.CloneStrategy, &srv.TemplateDB, &srv.TemplateHash, &srv.TemplateVersion,
		&srv.Spares, &srv.SparesReady, &srv.CreatedAt, &srv.NextSpares)
	return srv, err
}

// serverNotFound is the error for a name that is not registered.
func serverNotFound(name string) error {
	return validate.Invalid(fmt.Errorf("server %q: %w", name, ErrServerNotFound))
}

// updateServer sets what set says ($1 is the name, args from $2) on the registered
// server name; an unknown name is [ErrServerNotFound].
func updateServer(ctx context.Context, tx pgx.Tx, name, set string, args ...any) error {
	tag, err := tx.Exec(ctx, `UPDATE servers SET `+set+`, updated_at = now() WHERE name = $1`, append([]any{name}, args...)...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return serverNotFound(name)
	}
	return nil
}

// ServerNames returns the names of the registered servers, sorted.
func (s *Store) ServerNames(ctx context.Context) ([]string, error) { return serverNames(ctx, s.pool) }

func serverNames(ctx context.Context, q DBTX) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT name FROM servers ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// ListServers returns every registered server with its live tenant count, by name.
func (s *Store) ListServers(ctx context.Context) ([]Server, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+serverColumns+` FROM servers s ORDER BY s.name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Server, error) { return scanServer(r) })
}

// GetServer returns one server.
func (s *Store) GetServer(ctx context.Context, name string) (Server, error) {
	srv, err := scanServer(s.pool.QueryRow(ctx, `SELECT `+serverColumns+` FROM servers s WHERE s.name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return Server{}, serverNotFound(name)
	}
	return srv, err
}

// ServerDSN returns the server's admin DSN, unsealed.
func (s *Store) ServerDSN(ctx context.Context, name string) (string, error) {
	return s.unseal(ctx, serverLabel(name), fmt.Errorf("server %q: %w", name, ErrServerNotFound),
		`SELECT dsn_sealed FROM servers WHERE name = $1`, name)
}

// SetDraining marks a server as draining (no new tenants) or not.
func (s *Store) SetDraining(ctx context.Context, name string, draining bool) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if err := updateServer(ctx, tx, name, `draining = $2`, draining); err != nil {
			return err
		}
		action := "server.drain"
		if !draining {
			action = "server.undrain"
		}
		return s.AppendEvent(ctx, tx, Event{Action: action, Details: map[string]any{"server": name}})
	})
}

// RemoveServer unregisters an empty server. Purged tenants keep their history but lose
// the reference to it.
func (s *Store) RemoveServer(ctx context.Context, name string) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		var live int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM tenants WHERE server = $1 AND state <> 'purged'`, name).Scan(&live); err != nil {
			return err
		}
		if live > 0 {
			return validate.Invalid(fmt.Errorf("server %q: %w (%d): move or purge them first, and drain it meanwhile", name, ErrServerInUse, live))
		}
		if _, err := tx.Exec(ctx, `UPDATE tenants SET server = NULL WHERE server = $1`, name); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM servers WHERE name = $1`, name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return serverNotFound(name)
		}
		return s.AppendEvent(ctx, tx, Event{Action: "server.remove", Details: map[string]any{"server": name}})
	})
}

// SetTemplate records the template database a server holds for a migration set.
func (s *Store) SetTemplate(ctx context.Context, name, db, hash string, version int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE servers SET template_db = NULLIF($2, ''), template_hash = NULLIF($3, ''),
		template_version = $4, template_built_at = now(), updated_at = now() WHERE name = $1`, name, db, hash, version)
	return err
}

// TenantAndServers reads, in one round trip, what a create looks at first: the live
// tenant with this slug ([ErrTenantNotFound] in tenantErr when there is none) and the
// server named (ErrServerNotFound in serversErr when it is not registered), or every
// server when name is "".
func (s *Store) TenantAndServers(ctx context.Context, slug, name string) (t Tenant, tenantErr error, servers []Server, serversErr error) {
	b := &pgx.Batch{}
	var read, listed bool
	b.Queue(`SELECT `+tenantColumns+` FROM tenants WHERE slug = $1 AND state <> 'purged'`, slug).QueryRow(func(row pgx.Row) error {
		read = true
		t, tenantErr = scanTenant(row)
		if errors.Is(tenantErr, pgx.ErrNoRows) {
			tenantErr = validate.Invalid(fmt.Errorf("tenant %q: %w", slug, ErrTenantNotFound))
		}
		return nil
	})
	q, args := `SELECT `+serverColumns+` FROM servers s ORDER BY s.name`, []any(nil)
	if name != "" {
		q, args = `SELECT `+serverColumns+` FROM servers s WHERE s.name = $1`, []any{name}
	}
	b.Queue(q, args...).Query(func(rows pgx.Rows) error {
		listed = true
		servers, serversErr = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Server, error) { return scanServer(r) })
		if serversErr == nil && name != "" && len(servers) == 0 {
			serversErr = serverNotFound(name)
		}
		return nil
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		if !read {
			tenantErr = err
		}
		if !listed {
			serversErr = err
		}
	}
	return t, tenantErr, servers, serversErr
}
