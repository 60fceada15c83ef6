package mover

import (
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// Not parallel: it changes the environment and where Debian binaries are looked for.
func TestFindClient(t *testing.T) {
	t.Setenv("TENANTCTL_PG_BINDIR", "/usr/lib/postgresql/15/bin")
	p, err := FindClient("pg_dump")
	require.NoError(t, err)
	require.Equal(t, "/usr/lib/postgresql/15/bin/pg_dump", p)

	t.Setenv("TENANTCTL_PG_BINDIR", t.TempDir())
	t.Setenv("PATH", t.TempDir())
	// localpg's own test covers where it looks; here, nowhere holds the program.
	saved := binDirCandidates
	binDirCandidates = func(string) []string { return []string{os.Getenv("TENANTCTL_PG_BINDIR")} }
	t.Cleanup(func() { binDirCandidates = saved })
	_, err = FindClient("pg_restore")
	require.True(t, errors.Is(err, ErrNoClient))
	require.Contains(t, err.Error(), "pg_restore")
	require.Contains(t, err.Error(), "postgresql-client")
}
