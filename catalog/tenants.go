package catalog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// Tenant states.
const (
	StateProvisioning = "provisioning"
	StateActive       = "active"
	StateSuspended    = "suspended"
	StateDeleting     = "deleting"
	StatePurged       = "purged"
	StateFailed       = "failed"
)

// Tenant is one customer tenant as the catalog records it.
type Tenant struct {
	Slug                   string            `json:"slug"`
	ID                     string            `json:"id"`
	Name                   string            `json:"name"`
	Domain                 string            `json:"domain"`
	Database               string            `json:"database"`
	Server                 string            `json:"server"`
	State                  string            `json:"state"`
	SchemaVersion          int64             `json:"schema_version"`
	ContactEmail           string            `json:"contact_email,omitempty"`
	Labels                 map[string]string `json:"labels,omitempty"`
	Step                   string            `json:"step,omitempty"`
	LastError              string            `json:"last_error,omitempty"`
	MigrationError         string            `json:"migration_error,omitempty"`
	MigrationFailedVersion *int64            `json:"migration_failed_version,omitempty"`
	MigrationFailedAt      *time.Time        `json:"migration_failed_at,omitempty"`
	CreatedAt              time.Time         `json:"created_at"`
	UpdatedAt              time.Time         `json:"updated_at"`
	DeletedAt              *time.Time        `json:"deleted_at,omitempty"`
	PurgedAt               *time.Time        `json:"purged_at,omitempty"`
}

// DatabaseName is the tenant database's name: t_<id>, never the slug, name or domain.
func DatabaseName(id string) string { return "t_" + id }

// Live reports whether the tenant still has a database (not purged).
func (t Tenant) Live() bool { return t.State != StatePurged }

const tenantColumns = `id, slug, name, domain, coalesce(contact_email, ''), labels, state, step, coalesce(server, ''),
	schema_version, coalesce(last_error, ''), coalesce(migration_error, ''), migration_failed_version, migration_failed_at,
	created_at, updated_at, deleted_at, purged_at`

func scanTenant(row pgx.Row) (Tenant, error) {
	var t Tenant
	var labels []byte
	err := row.Scan(&t.ID, &t.Slug, &t.Name, &t.Domain, &t.ContactEmail, &labels, &t.State, &t.Step, &t.Server,
		&t.SchemaVersion, &t.LastError, &t.MigrationError, &t.MigrationFailedVersion, &t.MigrationFailedAt,
		&t.CreatedAt, &t.UpdatedAt, &t.DeletedAt, &t.PurgedAt)
	t.Database = DatabaseName(t.ID)
	if err == nil {
		t.Labels, err = decodeLabels(labels)
	}
	return t, err
}

// InsertTenant records a new tenant in state provisioning. A slug or domain already
// held by a tenant that is not purged gives [ErrTenantExists] naming the conflict.
func (s *Store) InsertTenant(ctx context.Context, t Tenant) error {
	return s.insertTenant(ctx, t, StateProvisioning, "tenant.create", nil)
}

// insertTenant records a new tenant in state, with an event (action) naming its server
// and database and any details.
func (s *Store) insertTenant(ctx context.Context, t Tenant, state, action string, details map[string]any) error {
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	return s.InTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO tenants (id, slug, name, domain, contact_email, labels, state, server)
			VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8)`,
			t.ID, t.Slug, t.Name, t.Domain, t.ContactEmail, t.Labels, state, t.Server)
		if err != nil {
			return tenantInsertError(t, err)
		}
		d := map[string]any{"server": t.Server, "database": DatabaseName(t.ID)}
		maps.Copy(d, details)
		return s.AppendEvent(ctx, tx, Event{Action: action, TenantID: t.ID, Slug: t.Slug, Details: d})
	})
}

// tenantInsertError names the slug or domain a failed tenant insert collided with.
func tenantInsertError(t Tenant, err error) error {
	if dbconn.HasCode(err, pgerrcode.UniqueViolation) {
		switch c := dbconn.Constraint(err); {
		case strings.Contains(c, "domain"):
			return Taken("domain", validate.Invalid(fmt.Errorf("email domain %s is already used by another tenant: %w", t.Domain, ErrTenantExists)))
		case strings.Contains(c, "slug"):
			return Taken("slug", validate.Invalid(fmt.Errorf("slug %q is already taken: %w", t.Slug, ErrTenantExists)))
		}
	}
	return fmt.Errorf("record tenant %q: %w", t.Slug, err)
}

// GetTenant returns the live (not purged) tenant with this slug.
func (s *Store) GetTenant(ctx context.Context, slug string) (Tenant, error) {
	t, err := scanTenant(s.pool.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE slug = $1 AND state <> 'purged'`, slug))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, validate.Invalid(fmt.Errorf("tenant %q: %w", slug, ErrTenantNotFound))
	}
	return t, err
}

// GetTenantByID returns a tenant by id, purged or not.
func (s *Store) GetTenantByID(ctx context.Context, id string) (Tenant, error) {
	t, err := scanTenant(s.pool.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("tenant id %q: %w", id, ErrTenantNotFound)
	}
	return t, err
}

// TenantFilter narrows [Store.ListTenants]. Empty fields match everything; purged
// tenants are listed only when States names them.
type TenantFilter struct {
	States []string
	Server string
	Slug   string
}

// ListTenants returns tenants by slug.
func (s *Store) ListTenants(ctx context.Context, f TenantFilter) ([]Tenant, error) {
	out := []Tenant{}
	err := s.EachTenant(ctx, f, func(t Tenant) error {
		out = append(out, t)
		return nil
	})
	return out, err
}

// EachTenant calls fn for every tenant matching f, by slug, as rows arrive (nothing is
// held in memory). The query names only the filters in use, so the planner walks the
// live-slug index in order instead of sorting the whole table.
func (s *Store) EachTenant(ctx context.Context, f TenantFilter, fn func(Tenant) error) error {
	where, args := f.where()
	rows, err := s.pool.Query(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE `+where+`
		ORDER BY slug, created_at`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return err
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	return rows.Err()
}

// TenantUpdate is a change to a tenant row; nil fields are left alone.
type TenantUpdate struct {
	State         *string
	Step          *string
	LastError     *string // "" clears it
	SchemaVersion *int64
	DeletedAt     *time.Time
	PurgedAt      *time.Time
	ClearContact  bool
	// ClearDeleted clears DeletedAt (a delete cancelled).
	ClearDeleted bool
	// Event, when set, is appended in the same transaction.
	Event *Event
	// Progress marks the update as a record of progress that a rerun can afford to
	// lose (a create's intermediate step, whose work is idempotent and is done again
	// when its record is missing): its commit does not wait for the WAL flush
	// (synchronous_commit off for its transaction). Only a crash of the catalog's server
	// within a fraction of a second can lose it — a killed process loses nothing, and
	// the next durable commit flushes it too. Ignored with Event.
	Progress bool
}

// UpdateTenant applies u to the tenant with this id.
func (s *Store) UpdateTenant(ctx context.Context, id string, u TenantUpdate) error {
	// One statement needs no explicit transaction: one round trip instead of three. With
	// an event, the event is inserted by the same statement, for the updated row only.
	return s.updateTenant(ctx, s.pool, id, u)
}

func (s *Store) updateTenant(ctx context.Context, q DBTX, id string, u TenantUpdate) error {
	// QueryExecModeExec: one round trip, where a process that has not prepared the
	// statement yet (every CLI command) would spend two preparing it first. Every value
	// is one the server types from the statement (the event's details are sent as
	// text and cast).
	args := []any{pgx.QueryExecModeExec, id, u.State, u.Step, u.LastError, u.SchemaVersion, u.DeletedAt, u.PurgedAt, u.ClearContact, u.ClearDeleted}
	with, returning, tail := "", "", ""
	if u.Event != nil {
		e := *u.Event
		actor, details, err := e.row(s.actor(ctx))
		if err != nil {
			return err
		}
		with, returning = "WITH updated AS (", `
		RETURNING id)`
		tail = `
		INSERT INTO events (actor, action, tenant_id, slug, details)
		SELECT $10::text, $11::text, updated.id, NULLIF($12::text, ''), $13::jsonb FROM updated`
		args = append(args, actor, e.Action, e.Slug, string(details))
	}
	lazy := ""
	if u.Progress && u.Event == nil {
		// Local to the statement's own transaction, and read when it commits.
		lazy = `WITH progress AS (SELECT set_config('synchronous_commit', 'off', true))
		`
	}
	from := ""
	if lazy != "" {
		from = " FROM progress"
	}
	tag, err := q.Exec(ctx, with+lazy+`UPDATE tenants SET
		state = coalesce($2, state),
		step = coalesce($3, step),
		last_error = CASE WHEN $4::text IS NULL THEN last_error ELSE NULLIF($4, '') END,
		schema_version = coalesce($5, schema_version),
		deleted_at = CASE WHEN $9 THEN NULL ELSE coalesce($6, deleted_at) END,
		purged_at = coalesce($7, purged_at),
		contact_email = CASE WHEN $8 THEN NULL ELSE contact_email END,
		updated_at = now()`+from+`
		WHERE id = $1`+returning+tail, args...)
	if err != nil {
		return fmt.Errorf("update tenant %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("tenant id %q: %w", id, ErrTenantNotFound)
	}
	return nil
}

// RecordMigration records a tenant's schema version after a migration attempt: on
// success it clears the migration error; on failure it keeps the error, the version
// that failed and when.
func (s *Store) RecordMigration(ctx context.Context, id string, version int64, failedVersion int64, migErr string) error {
	var err error
	if migErr == "" {
		_, err = s.pool.Exec(ctx, `UPDATE tenants SET schema_version = $2, migration_error = NULL,
			migration_failed_version = NULL, migration_failed_at = NULL, updated_at = now() WHERE id = $1`, id, version)
	} else {
		_, err = s.pool.Exec(ctx, `UPDATE tenants SET schema_version = $2, migration_error = $3,
			migration_failed_version = $4, migration_failed_at = now(), updated_at = now() WHERE id = $1`, id, version, migErr, failedVersion)
	}
	if err != nil {
		return fmt.Errorf("record migration of tenant %s: %w", id, err)
	}
	return nil
}

// OwnerCredential is the credentials role under which a tenant's owner role's
// password is stored: tenantctl's own login to the tenant database (migrations, rollups,
// moves), never shown to anyone.
const OwnerCredential = "owner"

func credentialLabel(tenantID, role string) string { return "tenant/" + tenantID + "/" + role }

// SetCredential stores a tenant role's password, sealed, replacing any previous one.
func (s *Store) SetCredential(ctx context.Context, tenantID, role, password string) error {
	box, err := s.Box(ctx)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO credentials (tenant_id, role, secret_sealed) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id, role) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, rotated_at = now()`,
		tenantID, role, box.SealString(password, credentialLabel(tenantID, role)))
	if err != nil {
		return fmt.Errorf("store credential: %w", staleKeyError(err, box))
	}
	return nil
}

// ErrNoCredential is returned by [Store.Credential] when none is stored.
var ErrNoCredential = errors.New("no credential stored")

// Credential returns a tenant role's password, unsealed.
func (s *Store) Credential(ctx context.Context, tenantID, role string) (string, error) {
	return s.unseal(ctx, credentialLabel(tenantID, role), ErrNoCredential,
		`SELECT secret_sealed FROM credentials WHERE tenant_id = $1 AND role = $2`, tenantID, role)
}

// Credentials returns role's credentials of the given tenants, by tenant id, read in one
// statement: a fleet operation reads them once rather than once per tenant. A tenant
// without one, or whose sealed value does not open, is missing from the map (read it
// with [Store.Credential], which says why).
func (s *Store) Credentials(ctx context.Context, role string, tenantIDs []string) (map[string]string, error) {
	box, err := s.Box(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, secret_sealed FROM credentials WHERE role = $1 AND tenant_id = ANY($2)`,
		role, tenantIDs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]string, len(tenantIDs))
	for rows.Next() {
		var id string
		var sealed []byte
		if err := rows.Scan(&id, &sealed); err != nil {
			return nil, err
		}
		if pw, err := box.OpenString(sealed, credentialLabel(id, role)); err == nil {
			out[id] = pw
		}
	}
	return out, rows.Err()
}

// PromoteCredential makes a pending credential the current one for role, in one
// transaction: the pending row (role+"_pending") replaces role's.
func (s *Store) PromoteCredential(ctx context.Context, tenantID, role string) error {
	pending, err := s.Credential(ctx, tenantID, role+"_pending")
	if err != nil {
		return err
	}
	box, err := s.Box(ctx)
	if err != nil {
		return err
	}
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO credentials (tenant_id, role, secret_sealed) VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id, role) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, rotated_at = now()`,
			tenantID, role, box.SealString(pending, credentialLabel(tenantID, role))); err != nil {
			return staleKeyError(err, box)
		}
		_, err := tx.Exec(ctx, `DELETE FROM credentials WHERE tenant_id = $1 AND role = $2`, tenantID, role+"_pending")
		return err
	})
}

// DeleteCredentials erases every credential of a tenant.
func (s *Store) DeleteCredentials(ctx context.Context, tenantID string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM credentials WHERE tenant_id = $1`, tenantID)
	return err
}

// CredentialHolders returns the tenants for which a credential of role is stored.
func (s *Store) CredentialHolders(ctx context.Context, role string) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id FROM credentials WHERE role = $1`, role)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list %s credentials: %w", role, err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// HasCredential reports whether a credential is stored for role.
func (s *Store) HasCredential(ctx context.Context, tenantID, role string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM credentials WHERE tenant_id = $1 AND role = $2)`, tenantID, role).Scan(&ok)
	return ok, err
}
