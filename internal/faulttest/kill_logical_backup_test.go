package faulttest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/stretchr/testify/require"
)

// logicalBackupCases kill a logical backup run (backup run --logical) after a tenant's
// new archive is renamed into place but not recorded, after it is recorded and after an
// expired archive is removed: every recorded file is whole (its SHA-256 matches), every
// archive in the directory is recorded (the rerun records the one the kill left), no
// partial file is left (a partial one planted beside them is removed), and a rerun
// finishes the retention.
func logicalBackupCases() []killCase {
	return []killCase{
		{
			name: "logical backup", group: "logical-backup", always: true,
			points: []string{"backup.logical.after-file", "backup.logical.after-file:2", "backup.logical.after-record",
				"backup.logical.after-record:2", "backup.logical.after-remove"},
			setup: func(f *fleet, _ string) []string {
				dir := filepath.Join(f.t.TempDir(), "logical")
				f.must("backup", "run", "--logical", "--dir", dir)
				time.Sleep(1100 * time.Millisecond) // older than --keep 1s
				return []string{"backup", "run", "--logical", "--dir", dir, "--keep", "1s"}
			},
			rerun: func(f *fleet, _ string, args []string) {
				// The killed run's newest archives are older than --keep 1s too.
				time.Sleep(1100 * time.Millisecond)
				dir := args[len(args)-3]
				// What a run killed while pg_dump wrote leaves: a partial archive.
				slugs, err := filepath.Glob(filepath.Join(dir, "*"))
				require.NoError(f.t, err)
				require.NotEmpty(f.t, slugs)
				slug := filepath.Base(slugs[0])
				require.NoError(f.t, os.WriteFile(filepath.Join(slugs[0], "."+slug+"-20260101T000000.000Z.dump.partial-123"), []byte("PGDMP"), 0o600))
				f.must(args...)
				f.assertLogicalBackups(dir)
			},
		},
	}
}

// assertLogicalBackups checks the recorded logical backups: each file present is whole
// (size and SHA-256 as recorded), each tenant has exactly one (the retention of --keep
// 1s ran), and no partial file is left in dir.
func (f *fleet) assertLogicalBackups(dir string) {
	f.t.Helper()
	var list []struct {
		Slug      string `json:"slug"`
		Path      string `json:"path"`
		SizeBytes int64  `json:"size_bytes"`
		SHA256    string `json:"sha256"`
	}
	require.NoError(f.t, json.Unmarshal([]byte(f.must("backup", "list", "--logical", "-o", "json")), &list))
	per := map[string]int{}
	for _, b := range list {
		data, err := os.ReadFile(b.Path)
		require.NoError(f.t, err, "a recorded logical backup exists")
		sum := sha256.Sum256(data)
		require.Equal(f.t, b.SHA256, hex.EncodeToString(sum[:]), "%s is whole", b.Path)
		require.Equal(f.t, b.SizeBytes, int64(len(data)))
		per[b.Slug]++
	}
	for slug, n := range per {
		require.Equal(f.t, 1, n, "tenant %s: older logical backups removed by the rerun", slug)
	}
	recorded := map[string]bool{}
	for _, b := range list {
		recorded[b.Path] = true
	}
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.dump"))
	require.NoError(f.t, err)
	for _, file := range files {
		require.True(f.t, recorded[file], "%s is recorded (or removed by the retention)", file)
	}
	left, err := filepath.Glob(filepath.Join(dir, "*", ".*partial*"))
	require.NoError(f.t, err)
	require.Empty(f.t, left, "no partial archive left")
}
