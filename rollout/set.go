package rollout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/migrations"
)

// File is one migration file of a set.
type File struct {
	Version int64  `json:"version"`
	Name    string `json:"file"`
	SHA256  string `json:"sha256"`
}

// Set is a tenant migration set as loaded for one run.
type Set struct {
	FS fs.FS `json:"-"`
	// Files by ascending version.
	Files []File `json:"files"`
	// Latest is the highest version.
	Latest int64 `json:"latest"`
	// Hash names the set (and the template databases built from it).
	Hash string `json:"hash"`
}

// LoadSet reads a migration set: every *.sql file with its version and SHA-256. Two files
// with the same version, or a file without a numeric version prefix, are invalid input.
func LoadSet(fsys fs.FS) (Set, error) {
	if fsys == nil {
		fsys = migrations.Tenant()
	}
	s := Set{FS: fsys}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return s, fmt.Errorf("list tenant migrations: %w", err)
	}
	if len(names) == 0 {
		return s, validate.Errorf("the tenant migration set holds no goose .sql files")
	}
	seen := map[int64]string{}
	for _, name := range names {
		v, err := goose.NumericComponent(name)
		if err != nil {
			return s, validate.Errorf("migration file %q has no numeric version prefix (name files like 00002_add_column.sql)", name)
		}
		if other, ok := seen[v]; ok {
			return s, validate.Errorf("migration files %q and %q have the same version %d", other, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return s, fmt.Errorf("read migration %s: %w", name, err)
		}
		sum := sha256.Sum256(b)
		s.Files = append(s.Files, File{Version: v, Name: path.Base(name), SHA256: hex.EncodeToString(sum[:])})
	}
	if err := migrations.CheckOwnership(fsys); err != nil {
		return s, validate.Invalid(err)
	}
	sort.Slice(s.Files, func(i, j int) bool { return s.Files[i].Version < s.Files[j].Version })
	s.Latest = s.Files[len(s.Files)-1].Version
	if s.Hash, err = migrations.Hash(fsys); err != nil {
		return s, err
	}
	return s, nil
}

// After returns the versions of the set above v.
func (s Set) After(v int64) []int64 {
	var out []int64
	for _, f := range s.Files {
		if f.Version > v {
			out = append(out, f.Version)
		}
	}
	return out
}

// Missing returns how many versions of the set are not in applied.
func (s Set) Missing(applied []int64) int {
	have := make(map[int64]bool, len(applied))
	for _, v := range applied {
		have[v] = true
	}
	n := 0
	for _, f := range s.Files {
		if !have[f.Version] {
			n++
		}
	}
	return n
}

type recorded struct {
	File
	RecordedAt time.Time
}

// loadRecorded reads the hashes recorded in the catalog, by version.
func loadRecorded(ctx context.Context, store *catalog.Store) (map[int64]recorded, error) {
	rows, err := store.Pool().Query(ctx, `SELECT version, file, sha256, recorded_at FROM tenant_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read recorded migration hashes: %w", err)
	}
	defer rows.Close()
	out := map[int64]recorded{}
	for rows.Next() {
		var r recorded
		if err := rows.Scan(&r.Version, &r.Name, &r.SHA256, &r.RecordedAt); err != nil {
			return nil, fmt.Errorf("read recorded migration hashes: %w", err)
		}
		out[r.Version] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read recorded migration hashes: %w", err)
	}
	return out, nil
}

// compare lists how the set differs from the recorded hashes: files changed or removed
// after they were applied, and new files whose version is below the highest recorded
// one (goose would refuse them as out of order on every tenant).
func compare(s Set, rec map[int64]recorded) []Change {
	var changes []Change
	var maxRecorded int64
	for v := range rec {
		maxRecorded = max(maxRecorded, v)
	}
	inSet := map[int64]bool{}
	for _, f := range s.Files {
		inSet[f.Version] = true
		r, ok := rec[f.Version]
		switch {
		case ok && r.SHA256 != f.SHA256:
			changes = append(changes, Change{Kind: ChangeModified, Version: f.Version, File: f.Name, Recorded: r.Name, RecordedAt: r.RecordedAt})
		case !ok && f.Version < maxRecorded:
			changes = append(changes, Change{Kind: ChangeOutOfOrder, Version: f.Version, File: f.Name})
		}
	}
	for v, r := range rec {
		if !inSet[v] {
			changes = append(changes, Change{Kind: ChangeRemoved, Version: v, Recorded: r.Name, RecordedAt: r.RecordedAt})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Version < changes[j].Version })
	return changes
}

// checkSet compares the set with the recorded hashes. Changes are refused with a
// [ChangedError] unless allowChanged; out-of-order files are refused always (goose would
// refuse them on every tenant anyway). The accepted changes are returned.
func checkSet(ctx context.Context, store *catalog.Store, s Set, allowChanged bool) ([]Change, error) {
	rec, err := loadRecorded(ctx, store)
	if err != nil {
		return nil, err
	}
	changes := compare(s, rec)
	if len(changes) == 0 {
		return nil, nil
	}
	var hard []Change
	for _, c := range changes {
		if c.Kind == ChangeOutOfOrder {
			hard = append(hard, c)
		}
	}
	if len(hard) > 0 {
		return changes, &ChangedError{Changes: hard}
	}
	if !allowChanged {
		return changes, &ChangedError{Changes: changes}
	}
	return changes, nil
}

// acceptChanges makes the current files the reference for changed versions and forgets
// removed ones.
func acceptChanges(ctx context.Context, store *catalog.Store, s Set, changes []Change) error {
	byVersion := map[int64]File{}
	for _, f := range s.Files {
		byVersion[f.Version] = f
	}
	return store.InTx(ctx, func(tx pgx.Tx) error {
		for _, c := range changes {
			var err error
			switch c.Kind {
			case ChangeModified:
				f := byVersion[c.Version]
				_, err = tx.Exec(ctx, `UPDATE tenant_migrations SET file = $2, sha256 = $3, accepted_at = now() WHERE version = $1`,
					f.Version, f.Name, f.SHA256)
			case ChangeRemoved:
				_, err = tx.Exec(ctx, `DELETE FROM tenant_migrations WHERE version = $1`, c.Version)
			}
			if err != nil {
				return fmt.Errorf("accept changed migration %d: %w", c.Version, err)
			}
		}
		return store.AppendEvent(ctx, tx, catalog.Event{Action: "migrations.accept-changed", Details: map[string]any{"changes": changes}})
	})
}

// recordApplied records the hash of every file of the set up to version upTo that has
// none yet: those versions are applied to at least one tenant (goose applies in order).
func recordApplied(ctx context.Context, store *catalog.Store, s Set, upTo int64) error {
	var versions []int64
	var names, sums []string
	for _, f := range s.Files {
		if f.Version <= upTo {
			versions = append(versions, f.Version)
			names = append(names, f.Name)
			sums = append(sums, f.SHA256)
		}
	}
	if len(versions) == 0 {
		return nil
	}
	_, err := store.Pool().Exec(ctx, `INSERT INTO tenant_migrations (version, file, sha256)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) ON CONFLICT (version) DO NOTHING`, versions, names, sums)
	if err != nil {
		return fmt.Errorf("record migration hashes: %w", err)
	}
	return nil
}
