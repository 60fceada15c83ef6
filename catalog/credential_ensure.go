package catalog

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// EnsureCredential stores password as the tenant role's credential unless one is
// stored already, and returns the stored one (unsealed) and whether it was this one:
// what [Store.HasCredential], [Store.SetCredential] and [Store.Credential] do one
// after another, in one statement.
func (s *Store) EnsureCredential(ctx context.Context, tenantID, role, password string) (stored string, inserted bool, err error) {
	box, err := s.Box(ctx)
	if err != nil {
		return "", false, err
	}
	var sealed []byte
	err = s.pool.QueryRow(ctx, `WITH ins AS (
			INSERT INTO credentials (tenant_id, role, secret_sealed) VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id, role) DO NOTHING RETURNING secret_sealed)
		SELECT secret_sealed, true FROM ins
		UNION ALL
		SELECT secret_sealed, false FROM credentials WHERE tenant_id = $1 AND role = $2 AND NOT EXISTS (SELECT 1 FROM ins)`,
		tenantID, role, box.SealString(password, credentialLabel(tenantID, role))).Scan(&sealed, &inserted)
	if err != nil {
		return "", false, fmt.Errorf("store credential: %w", staleKeyError(err, box))
	}
	stored, err = box.OpenString(sealed, credentialLabel(tenantID, role))
	return stored, inserted, err
}

// EnsureTenantCredentials is [Store.EnsureCredential] for a new tenant's app role and
// owner role ([OwnerCredential]) at once: one statement, one commit. It returns the
// stored passwords (unsealed) and whether the app one was stored by this call.
func (s *Store) EnsureTenantCredentials(ctx context.Context, tenantID, appPassword, ownerPassword string) (app, owner string, inserted bool, err error) {
	box, err := s.Box(ctx)
	if err != nil {
		return "", "", false, err
	}
	roles := []string{"app", OwnerCredential}
	sealed := [][]byte{
		box.SealString(appPassword, credentialLabel(tenantID, "app")),
		box.SealString(ownerPassword, credentialLabel(tenantID, OwnerCredential)),
	}
	rows, err := s.pool.Query(ctx, `WITH v AS (
			SELECT * FROM unnest($2::text[], $3::bytea[]) AS v(role, secret_sealed)
		), ins AS (
			INSERT INTO credentials (tenant_id, role, secret_sealed) SELECT $1, role, secret_sealed FROM v
			ON CONFLICT (tenant_id, role) DO NOTHING RETURNING role, secret_sealed)
		SELECT role, secret_sealed, true FROM ins
		UNION ALL
		SELECT c.role, c.secret_sealed, false FROM credentials c JOIN v USING (role)
		WHERE c.tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM ins WHERE ins.role = c.role)`,
		tenantID, roles, sealed)
	if err != nil {
		return "", "", false, fmt.Errorf("store credentials: %w", staleKeyError(err, box))
	}
	got := map[string]string{}
	for rows.Next() {
		var role string
		var sec []byte
		var ins bool
		if err := rows.Scan(&role, &sec, &ins); err != nil {
			rows.Close()
			return "", "", false, err
		}
		pw, err := box.OpenString(sec, credentialLabel(tenantID, role))
		if err != nil {
			rows.Close()
			return "", "", false, err
		}
		got[role] = pw
		if role == "app" {
			inserted = ins
		}
	}
	if err := rows.Err(); err != nil {
		return "", "", false, fmt.Errorf("store credentials: %w", staleKeyError(err, box))
	}
	app, okApp := got["app"]
	owner, okOwner := got[OwnerCredential]
	if !okApp || !okOwner {
		return "", "", false, fmt.Errorf("store credentials of tenant %s: %w", tenantID, ErrNoCredential)
	}
	return app, owner, inserted, nil
}

// InsertTenantWithCredentials records a new tenant (state provisioning) already at
// step, with its app and owner roles' passwords sealed and its tenant.create event, in
// one transaction: what [Store.InsertTenant], [Store.EnsureTenantCredentials] and the
// step's record do one after another, with one commit instead of three.
func (s *Store) InsertTenantWithCredentials(ctx context.Context, t Tenant, step, appPassword, ownerPassword string) error {
	box, err := s.Box(ctx)
	if err != nil {
		return err
	}
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	actor, details, err := Event{Action: "tenant.create", TenantID: t.ID, Slug: t.Slug,
		Details: map[string]any{"server": t.Server, "database": DatabaseName(t.ID)}}.row(s.actor(ctx))
	if err != nil {
		return err
	}
	// One batch, no explicit transaction: its statements up to the batch's one Sync are
	// one implicit transaction (all of them or none), without a round trip each for
	// BEGIN and COMMIT.
	{
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO tenants (id, slug, name, domain, contact_email, labels, state, step, server)
			VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, 'provisioning', $7, $8)`,
			t.ID, t.Slug, t.Name, t.Domain, t.ContactEmail, t.Labels, step, t.Server)
		b.Queue(`INSERT INTO credentials (tenant_id, role, secret_sealed) VALUES ($1, 'app', $2), ($1, $3, $4)`,
			t.ID, box.SealString(appPassword, credentialLabel(t.ID, "app")),
			OwnerCredential, box.SealString(ownerPassword, credentialLabel(t.ID, OwnerCredential)))
		b.Queue(`INSERT INTO events (actor, action, tenant_id, slug, details) VALUES ($1, 'tenant.create', $2, $3, $4)`,
			actor, t.ID, t.Slug, details)
		br := s.pool.SendBatch(ctx, b)
		for i := 0; i < b.Len(); i++ {
			if _, err := br.Exec(); err != nil {
				_ = br.Close()
				if i == 0 {
					return tenantInsertError(t, err)
				}
				return fmt.Errorf("record tenant %q: %w", t.Slug, staleKeyError(err, box))
			}
		}
		return br.Close()
	}
}
