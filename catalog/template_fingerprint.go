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
		ON CONFLICT (server, template_db) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, built_at = now(), clone_witness = NULL`, server, db, fingerprint)
	if err != nil {
		return fmt.Errorf("record fingerprint of template %s on %s: %w", db, server, err)
	}
	return nil
}

// TemplateFingerprint returns the recorded fingerprint of template db on server ("" when
// none is recorded).
func (s *Store) TemplateFingerprint(ctx context.Context, server, db string) (string, error) {
	fp, _, err := s.TemplateRecord(ctx, server, db)
	return fp, err
}

// TemplateRecord returns the recorded fingerprint of template db on server and its
// clone witness ([Store.SetTemplateCloneWitness]; "" when none), in one statement.
func (s *Store) TemplateRecord(ctx context.Context, server, db string) (fingerprint, witness string, err error) {
	// QueryExecModeExec: one round trip, where a process that has prepared nothing yet
	// (every CLI command) would spend two on preparing it first.
	err = s.pool.QueryRow(ctx, `SELECT fingerprint, coalesce(clone_witness, '') FROM template_fingerprints WHERE server = $1 AND template_db = $2`,
		pgx.QueryExecModeExec, server, db).Scan(&fingerprint, &witness)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("read fingerprint of template %s on %s: %w", db, server, err)
	}
	return fingerprint, witness, nil
}

// SetTemplateCloneWitness records the witness under which a clone of template db on
// server matched fingerprint (the version of the template's pg_database row, see
// tenantdb.Server.TemplateWitness). Nothing is recorded unless fingerprint is still the
// one on record. Idempotent: losing it costs the next clone a fingerprint, no more.
func (s *Store) SetTemplateCloneWitness(ctx context.Context, server, db, fingerprint, witness string) error {
	_, err := s.pool.Exec(ctx, `UPDATE template_fingerprints SET clone_witness = $4
		WHERE server = $1 AND template_db = $2 AND fingerprint = $3 AND clone_witness IS DISTINCT FROM $4`, server, db, fingerprint, witness)
	if err != nil {
		return fmt.Errorf("record the clone witness of template %s on %s: %w", db, server, err)
	}
	return nil
}

// DeleteTemplateFingerprint forgets the fingerprint of a template that was dropped.
func (s *Store) DeleteTemplateFingerprint(ctx context.Context, server, db string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM template_fingerprints WHERE server = $1 AND template_db = $2`, server, db)
	return err
}
