package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/secret"
)

// Spare states.
const (
	SpareBuilding = "building"
	SpareReady    = "ready"
	SpareDropping = "dropping"
)

// Spare is one database of a server's warm pool: cloned from the server's template and
// hardened, with its owner and app roles (NOLOGIN, no password), waiting to be claimed
// by a new tenant. Its id becomes the tenant's id.
type Spare struct {
	ID            string     `json:"id"`
	Server        string     `json:"server"`
	State         string     `json:"state"`
	TemplateHash  string     `json:"template_hash"`
	SchemaVersion int64      `json:"schema_version"`
	CreatedAt     time.Time  `json:"created_at"`
	ReadyAt       *time.Time `json:"ready_at,omitempty"`
}

// ErrNoSpare is returned by [Store.ClaimSpare] when the server has no ready spare for
// the migration set.
var ErrNoSpare = errors.New("no spare database ready")

// SetSpares sets how many spare databases a server keeps ready.
func (s *Store) SetSpares(ctx context.Context, server string, n int) error {
	if n < 0 {
		return validate.Errorf("invalid spares %d: it must be 0 or more", n)
	}
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if err := updateServer(ctx, tx, server, `spares = $2`, n); err != nil {
			return err
		}
		return s.AppendEvent(ctx, tx, Event{Action: "server.set", Details: map[string]any{"server": server, "spares": n}})
	})
}

// ListSpares returns the spares of one server (every server when server is ""), oldest
// first.
func (s *Store) ListSpares(ctx context.Context, server string) ([]Spare, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, server, state, template_hash, schema_version, created_at, ready_at
		FROM spares WHERE ($1 = '' OR server = $1) ORDER BY server, created_at, id`, server)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Spare, error) {
		var sp Spare
		err := row.Scan(&sp.ID, &sp.Server, &sp.State, &sp.TemplateHash, &sp.SchemaVersion, &sp.CreatedAt, &sp.ReadyAt)
		return sp, err
	})
}

// InsertSpare records a spare about to be built (state building), before anything is
// made on the server: a refill killed half-way leaves this row to finish or undo, never
// an unknown database.
func (s *Store) InsertSpare(ctx context.Context, sp Spare) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO spares (id, server, state, template_hash, schema_version)
		VALUES ($1, $2, 'building', $3, $4)`, sp.ID, sp.Server, sp.TemplateHash, sp.SchemaVersion)
	if err != nil {
		return fmt.Errorf("record spare %s: %w", sp.ID, err)
	}
	return nil
}

// MarkSpareReady makes a built spare claimable.
func (s *Store) MarkSpareReady(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `UPDATE spares SET state = 'ready', ready_at = now() WHERE id = $1 AND state = 'building'`, id)
	if err != nil {
		return fmt.Errorf("mark spare %s ready: %w", id, err)
	}
	return nil
}

// RetireSpare moves a spare in state from to dropping, so no creator can claim it while
// it is removed. It reports false when the spare was claimed (or changed) meanwhile.
func (s *Store) RetireSpare(ctx context.Context, id, from string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE spares SET state = 'dropping' WHERE id = $1 AND state = $2`, id, from)
	if err != nil {
		return false, fmt.Errorf("retire spare %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// DeleteSpare forgets a spare whose database and roles are gone.
func (s *Store) DeleteSpare(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM spares WHERE id = $1 AND state <> 'ready'`, id)
	if err != nil {
		return fmt.Errorf("forget spare %s: %w", id, err)
	}
	return nil
}

// SpareClaim is what [Store.ClaimSpare] turns into a tenant.
type SpareClaim struct {
	// Tenant is recorded with the spare's id and schema version, in state provisioning
	// at step Step.
	Tenant Tenant
	Step   string
	// TemplateHash is the migration set the spare must have been cloned for.
	TemplateHash string
	// Password is the app role's new password, stored sealed in the same transaction.
	Password string
	// OwnerPassword is the owner role's, stored sealed beside it (role "owner").
	OwnerPassword string
	// Prefer is the spare the claimer logged in to ahead: taken when it is ready and no
	// concurrent claimer holds it, else the oldest ready one.
	Prefer string
}

// ClaimSpare takes the ready spare c.Prefer names, else the oldest ready spare of the
// tenant's server built for the migration set, and in the same transaction records the tenant under the spare's id
// with its sealed app (and owner) passwords and a tenant.create event. Concurrent claimers never get
// the same spare and never wait for one another (FOR UPDATE SKIP LOCKED). It returns
// [ErrNoSpare] when none is ready; a slug or domain already taken gives
// [ErrTenantExists] and leaves the spare in the pool.
func (s *Store) ClaimSpare(ctx context.Context, c SpareClaim) (Tenant, error) {
	box, err := s.Box(ctx)
	if err != nil {
		return Tenant{}, err
	}
	t := c.Tenant
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	if c.Prefer != "" {
		// The spare the claimer logged in to ahead: its passwords can be sealed under its
		// id before the claim, so the whole claim is one statement, one round trip and
		// one commit. When that spare is gone or held, the general claim below runs.
		claimed, err := s.claimPreferred(ctx, box, c, t)
		if err != nil || claimed.ID != "" {
			return claimed, err
		}
	}
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT id, schema_version FROM spares
			WHERE server = $1 AND template_hash = $2 AND state = 'ready'
			ORDER BY id = $3 DESC, created_at LIMIT 1 FOR UPDATE SKIP LOCKED`, t.Server, c.TemplateHash, c.Prefer).Scan(&t.ID, &t.SchemaVersion)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoSpare
		}
		if err != nil {
			return fmt.Errorf("claim a spare on %s: %w", t.Server, err)
		}
		t.Database, t.State, t.Step = DatabaseName(t.ID), StateProvisioning, c.Step
		details := map[string]any{"server": t.Server, "database": t.Database, "spare": true}
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM spares WHERE id = $1`, t.ID)
		b.Queue(`INSERT INTO tenants (id, slug, name, domain, contact_email, labels, state, step, server, schema_version)
			VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, 'provisioning', $7, $8, $9)`,
			t.ID, t.Slug, t.Name, t.Domain, t.ContactEmail, t.Labels, c.Step, t.Server, t.SchemaVersion)
		b.Queue(`INSERT INTO credentials (tenant_id, role, secret_sealed) VALUES ($1, 'app', $2)`,
			t.ID, box.SealString(c.Password, credentialLabel(t.ID, "app")))
		if c.OwnerPassword != "" {
			b.Queue(`INSERT INTO credentials (tenant_id, role, secret_sealed) VALUES ($1, $2, $3)`,
				t.ID, OwnerCredential, box.SealString(c.OwnerPassword, credentialLabel(t.ID, OwnerCredential)))
		}
		b.Queue(`INSERT INTO events (actor, action, tenant_id, slug, details) VALUES ($1, 'tenant.create', $2, $3, $4)`,
			s.Actor, t.ID, t.Slug, details)
		br := tx.SendBatch(ctx, b)
		for i := 0; i < b.Len(); i++ {
			if _, err := br.Exec(); err != nil {
				_ = br.Close()
				if i == 1 {
					return tenantInsertError(t, err)
				}
				return fmt.Errorf("claim spare %s: %w", t.ID, err)
			}
		}
		return br.Close()
	})
	return t, err
}

// claimPreferred is [Store.ClaimSpare] of the spare c.Prefer names, in one statement:
// the spare's row deleted (skipped when a concurrent claimer holds it), the tenant, its
// sealed passwords and the tenant.create event inserted from what the delete returned.
// It returns a tenant without an id, having changed nothing, when that spare is not
// ready on the tenant's server for the migration set or is held.
func (s *Store) claimPreferred(ctx context.Context, box *secret.Box, c SpareClaim, t Tenant) (Tenant, error) {
	id := c.Prefer
	owner := []byte(nil)
	if c.OwnerPassword != "" {
		owner = box.SealString(c.OwnerPassword, credentialLabel(id, OwnerCredential))
	}
	details := map[string]any{"server": t.Server, "database": DatabaseName(id), "spare": true}
	err := s.pool.QueryRow(ctx, `WITH sp AS (
			DELETE FROM spares WHERE id = (
				SELECT id FROM spares WHERE id = $1 AND server = $2 AND template_hash = $3 AND state = 'ready'
				FOR UPDATE SKIP LOCKED)
			RETURNING id, schema_version
		), t AS (
			INSERT INTO tenants (id, slug, name, domain, contact_email, labels, state, step, server, schema_version)
			SELECT id, $4::text, $5::text, $6::text, NULLIF($7::text, ''), $8::jsonb, 'provisioning', $9::text, $2, schema_version FROM sp
			RETURNING id
		), c AS (
			INSERT INTO credentials (tenant_id, role, secret_sealed)
			SELECT id, 'app', $10::bytea FROM t
			UNION ALL SELECT id, $11::text, $12::bytea FROM t WHERE $12::bytea IS NOT NULL
		), e AS (
			INSERT INTO events (actor, action, tenant_id, slug, details)
			SELECT $13::text, 'tenant.create', id, $4::text, $14::jsonb FROM t
		)
		SELECT schema_version FROM sp`,
		id, t.Server, c.TemplateHash, t.Slug, t.Name, t.Domain, t.ContactEmail, t.Labels, c.Step,
		box.SealString(c.Password, credentialLabel(id, "app")), OwnerCredential, owner,
		s.Actor, details).Scan(&t.SchemaVersion)
	if errors.Is(err, pgx.ErrNoRows) {
		return Tenant{}, nil
	}
	if err != nil {
		if dbconn.HasCode(err, pgerrcode.UniqueViolation) {
			return Tenant{}, tenantInsertError(t, err)
		}
		return Tenant{}, fmt.Errorf("claim spare %s: %w", id, err)
	}
	t.ID, t.Database, t.State, t.Step = id, DatabaseName(id), StateProvisioning, c.Step
	return t, nil
}

// FinishClaim marks a tenant made from a spare active at step, with a tenant.active
// event, in one statement, and returns the tenant.
//
// Its commit does not wait for the catalog's WAL flush (synchronous_commit off for this
// transaction only): the claim it follows was committed durably before the server was
// changed, and the server's change is durable, so what a crash of the catalog server
// could lose here is only the last step's record, which reconcile (or a rerun) makes
// again from the durable step "claimed". A kill of tenantctl loses nothing: the commit
// is the server's once this statement returned.
func (s *Store) FinishClaim(ctx context.Context, id, step string, details map[string]any) (Tenant, error) {
	t, err := scanTenant(s.pool.QueryRow(ctx, finishClaimSQL, id, step, s.Actor, details))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("tenant id %q: %w", id, ErrTenantNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("activate tenant %s: %w", id, err)
	}
	return t, nil
}

// FinishClaimReleasing is [Store.FinishClaim] on lockConn, a catalog connection of its
// own holding the create's advisory locks, which it releases once the finish committed,
// in the same round trip: one pipelined batch, `BEGIN`, the finish, `COMMIT`, `SELECT
// pg_advisory_unlock_all()`, so whoever waited for the locks finds the tenant active.
// A statement that fails makes the server skip the rest of the batch: the locks are then
// still held, and released reports false (the caller releases them).
func (s *Store) FinishClaimReleasing(ctx context.Context, lockConn *pgx.Conn, id, step string, details map[string]any) (t Tenant, released bool, err error) {
	js, err := json.Marshal(details)
	if err != nil {
		return Tenant{}, false, err
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(finishClaimSQL, id, step, s.Actor, string(js))
	b.Queue("COMMIT")
	b.Queue("SELECT pg_advisory_unlock_all()")
	br := lockConn.SendBatch(ctx, b)
	if _, err = br.Exec(); err == nil {
		if t, err = scanTenant(br.QueryRow()); err == nil {
			if _, err = br.Exec(); err == nil {
				_, err = br.Exec()
			}
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return t, false, fmt.Errorf("tenant id %q: %w", id, ErrTenantNotFound)
	}
	if err != nil {
		return t, false, fmt.Errorf("activate tenant %s: %w", id, err)
	}
	return t, true, nil
}

// finishClaimSQL is FinishClaim's statement.
const finishClaimSQL = `WITH nosync AS MATERIALIZED (
			SELECT set_config('synchronous_commit', 'off', true)
		), u AS (
			UPDATE tenants SET state = 'active', step = $2, last_error = NULL, updated_at = now()
			WHERE id = $1 AND EXISTS (SELECT FROM nosync) RETURNING *
		), e AS (
			INSERT INTO events (actor, action, tenant_id, slug, details)
			SELECT $3::text, 'tenant.active', id, slug, $4::jsonb FROM u
		)
		SELECT ` + tenantColumns + ` FROM u`

// WarmConn opens one more catalog connection in the background (it stays in the pool),
// for a caller about to hold one connection (an advisory lock) while it queries on
// another: the second login then overlaps other work instead of adding to it.
func (s *Store) WarmConn(ctx context.Context) {
	if s.pool.Stat().TotalConns() >= 2 {
		return
	}
	go func() {
		if c, err := s.pool.Acquire(ctx); err == nil {
			c.Release()
		}
	}()
}
