package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AccessGrant is an MSP login's access to one tenant database.
type AccessGrant struct {
	TenantID  string     `json:"tenant_id"`
	Slug      string     `json:"tenant"`
	Login     string     `json:"login"`
	Role      string     `json:"role"`
	Level     string     `json:"level"`
	Reason    string     `json:"reason,omitempty"`
	ExpiresAt *time.Time `json:"expires_at"`
	GrantedBy string     `json:"granted_by"`
	GrantedAt time.Time  `json:"granted_at"`
}

// ErrNoGrant is returned when a login has no access to a tenant.
var ErrNoGrant = errors.New("no access grant")

func accessLabel(tenantID, login string) string { return "access/" + tenantID + "/" + login }

// PutAccessGrant records (or replaces) a grant with its password, sealed.
func (s *Store) PutAccessGrant(ctx context.Context, g AccessGrant, password string) error {
	box, err := s.Box(ctx)
	if err != nil {
		return err
	}
	return s.InTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO access_grants (tenant_id, login, role, level, reason, expires_at, secret_sealed, granted_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (tenant_id, login) DO UPDATE SET level = EXCLUDED.level, reason = EXCLUDED.reason,
				expires_at = EXCLUDED.expires_at, secret_sealed = EXCLUDED.secret_sealed, granted_by = EXCLUDED.granted_by,
				granted_at = now()`,
			g.TenantID, g.Login, g.Role, g.Level, g.Reason, g.ExpiresAt, box.SealString(password, accessLabel(g.TenantID, g.Login)), s.actor(ctx))
		if err != nil {
			return fmt.Errorf("record access grant: %w", staleKeyError(err, box))
		}
		details := map[string]any{"login": g.Login, "role": g.Role, "level": g.Level, "reason": g.Reason}
		if g.ExpiresAt != nil {
			details["expires_at"] = g.ExpiresAt.UTC().Format(time.RFC3339)
		}
		return s.AppendEvent(ctx, tx, Event{Action: "access.grant", TenantID: g.TenantID, Slug: g.Slug, Details: details})
	})
}

// DeleteAccessGrant removes a grant's record.
func (s *Store) DeleteAccessGrant(ctx context.Context, g AccessGrant) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM access_grants WHERE tenant_id = $1 AND login = $2`, g.TenantID, g.Login); err != nil {
			return err
		}
		return s.AppendEvent(ctx, tx, Event{Action: "access.revoke", TenantID: g.TenantID, Slug: g.Slug,
			Details: map[string]any{"login": g.Login, "role": g.Role}})
	})
}

// ListAccessGrants returns grants, for one tenant slug and/or login when given.
func (s *Store) ListAccessGrants(ctx context.Context, slug, login string) ([]AccessGrant, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT g.tenant_id, t.slug, g.login, g.role, g.level, g.reason, g.expires_at, g.granted_by, g.granted_at
		FROM access_grants g JOIN tenants t ON t.id = g.tenant_id
		WHERE ($1 = '' OR t.slug = $1) AND ($2 = '' OR g.login = $2) AND t.state <> 'purged'
		ORDER BY t.slug, g.login`, slug, login)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AccessGrant, error) {
		var g AccessGrant
		err := r.Scan(&g.TenantID, &g.Slug, &g.Login, &g.Role, &g.Level, &g.Reason, &g.ExpiresAt, &g.GrantedBy, &g.GrantedAt)
		return g, err
	})
}

// AccessPassword returns a grant's password, unsealed.
func (s *Store) AccessPassword(ctx context.Context, tenantID, login string) (string, error) {
	return s.unseal(ctx, accessLabel(tenantID, login), ErrNoGrant,
		`SELECT secret_sealed FROM access_grants WHERE tenant_id = $1 AND login = $2`, tenantID, login)
}
