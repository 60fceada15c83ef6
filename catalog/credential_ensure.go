package catalog

import (
	"context"
	"fmt"
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
