package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SetTemplateFingerprint records the fingerprint of template db on server, taken when it
// was built.
func (s *Store) SetTemplateFingerprint(ctx context.Context, server, db, fingerprint string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO template_fingerprints (server, template_db, fingerprint) VALUES ($1, $2, $3)
		ON CONFLICT (server, template_db) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, built_at = now()`, server, db, fingerprint)
	if err != nil {
		return fmt.Errorf("record fingerprint of template %s on %s: %w", db, server, err)
	}
	return nil
}

// TemplateFingerprint returns the recorded fingerprint of template db on server ("" when
// none is recorded).
func (s *Store) TemplateFingerprint(ctx context.Context, server, db string) (string, error) {
	var fp string
	err := s.pool.QueryRow(ctx, `SELECT fingerprint FROM template_fingerprints WHERE server = $1 AND template_db = $2`, server, db).Scan(&fp)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read fingerprint of template %s on %s: %w", db, server, err)
	}
	return fp, nil
}

// DeleteTemplateFingerprint forgets the fingerprint of a template that was dropped.
func (s *Store) DeleteTemplateFingerprint(ctx context.Context, server, db string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM template_fingerprints WHERE server = $1 AND template_db = $2`, server, db)
	return err
}
