package backup

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/backup"
	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/mover"
)

func TestConfigureFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *ConfigureOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdConfigure(cmdtest.Factory(), cmdtest.Capture(&got)), "pg-a", "--repo", "/var/lib/pgbackrest",
		"--pg-path", "/var/lib/postgresql/15/main", "--install"))
	want := backup.Settings{Server: "pg-a", RepoPath: "/var/lib/pgbackrest", PgPath: "/var/lib/postgresql/15/main", PgPort: 5432,
		PgSocketPath: "/var/run/postgresql", PgUser: "postgres", RetentionFull: 2}
	backup.Defaults(&want) // the library's defaults: the stanza and its configuration file
	require.Equal(t, want, got.Settings)
	require.True(t, got.Install)
	for _, args := range [][]string{{"pg-a", "--pg-path", "/d"}, {"pg-a", "--repo", "rel", "--pg-path", "/d"}, {"pg-a", "--repo", "/r", "--pg-path", "/d", "--pg-port", "70000"}, {}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdConfigure(cmdtest.Factory(), cmdtest.Refuse[ConfigureOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}
}

func TestSetupRunListFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var setup *SetupOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdSetup(cmdtest.Factory(), cmdtest.Capture(&setup)), "pg-a", "--check"))
	require.Equal(t, SetupOptions{Factory: setup.Factory, Server: "pg-a", Check: true}, *setup)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdSetup(cmdtest.Factory(), cmdtest.Refuse[SetupOptions](t))), validate.ErrInvalid)

	var run *RunOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdRun(cmdtest.Factory(), cmdtest.Capture(&run))))
	require.Equal(t, backup.RunOptions{Type: "incr"}, run.Run)
	require.NoError(t, cmdtest.Execute(t, NewCmdRun(cmdtest.Factory(), cmdtest.Capture(&run)), "--server", "pg-a", "--type", "full"))
	require.Equal(t, backup.RunOptions{Server: "pg-a", Type: "full"}, run.Run)
	for _, args := range [][]string{{"--type", "weekly"}, {"--server", "Bad Name"}, {"x"}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdRun(cmdtest.Factory(), cmdtest.Refuse[RunOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}

	var list *ListOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdList(cmdtest.Factory(), cmdtest.Capture(&list)), "--server", "pg-a"))
	require.Equal(t, "pg-a", list.Server)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdList(cmdtest.Factory(), cmdtest.Refuse[ListOptions](t)), "x"), validate.ErrInvalid)
}

func TestRestoreFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *RestoreOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdRestore(cmdtest.Factory(), cmdtest.Capture(&got)), "acme", "--time", "2026-12-01 14:32",
		"--as", "acme-restored", "--keep-source", "72h", "--scratch-dir", "/var/tmp", "--dry-run"))
	keep := 72 * time.Hour
	require.Equal(t, mover.RestoreOptions{Slug: "acme", Time: time.Date(2026, 12, 1, 14, 32, 0, 0, time.UTC), As: "acme-restored",
		KeepSource: &keep, ScratchRoot: "/var/tmp", DryRun: true}, got.Restore)

	require.NoError(t, cmdtest.Execute(t, NewCmdRestore(cmdtest.Factory(), cmdtest.Capture(&got)), "acme", "--rollback"))
	require.True(t, got.Rollback)

	for _, args := range [][]string{{"acme"}, {"acme", "--time", "yesterday"}, {"acme", "--time", "2026-12-01T14:32:00Z", "--keep-source", "soon"}, {}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdRestore(cmdtest.Factory(), cmdtest.Refuse[RestoreOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}
}

func TestNewCmdBackupGroup(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"configure", "list", "run", "setup"}, cmdtest.Names(NewCmdBackup(cmdtest.Factory())))
}

func TestLogicalFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var run *RunOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdRun(cmdtest.Factory(), cmdtest.Capture(&run)), "--logical", "--dir", "/b", "--keep", "7d", "--server", "pg-a"))
	require.True(t, run.Logical)
	require.Equal(t, mover.LogicalBackupOptions{Server: "pg-a", Dir: "/b", Keep: 7 * 24 * time.Hour}, run.LogicalRun)
	require.NoError(t, cmdtest.Execute(t, NewCmdRun(cmdtest.Factory(), cmdtest.Capture(&run)), "--logical", "--dir", "/b"))
	require.Equal(t, mover.DefaultLogicalKeep, run.LogicalRun.Keep)
	for _, args := range [][]string{{"--logical"}, {"--logical", "--dir", "/b", "--keep", "0d"}, {"--logical", "--dir", "/b", "--type", "full"},
		{"--dir", "/b"}, {"--keep", "3d"}, {"--logical", "--dir", "/b", "--server", "Bad Name"}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdRun(cmdtest.Factory(), cmdtest.Refuse[RunOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}

	var list *ListOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdList(cmdtest.Factory(), cmdtest.Capture(&list)), "--logical", "--tenant", "acme", "--removed"))
	require.Equal(t, ListOptions{Factory: list.Factory, Logical: true, Tenant: "acme", Removed: true}, *list)
	for _, args := range [][]string{{"--tenant", "acme"}, {"--removed"}, {"--logical", "--tenant", "Not A Slug"}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdList(cmdtest.Factory(), cmdtest.Refuse[ListOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}

	var got *RestoreOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdRestore(cmdtest.Factory(), cmdtest.Capture(&got)), "acme", "--from-export", "/b/acme.dump", "--as", "acme-back"))
	require.Equal(t, "/b/acme.dump", got.FromExport)
	require.Equal(t, mover.RestoreOptions{Slug: "acme", As: "acme-back"}, got.Restore)
	// In place: no --as, --keep-source read.
	require.NoError(t, cmdtest.Execute(t, NewCmdRestore(cmdtest.Factory(), cmdtest.Capture(&got)), "acme", "--from-export", "/b/acme.dump", "--keep-source", "0"))
	require.Equal(t, "/b/acme.dump", got.FromExport)
	zero := time.Duration(0)
	require.Equal(t, mover.RestoreOptions{Slug: "acme", KeepSource: &zero}, got.Restore)
	for _, args := range [][]string{{"acme", "--from-export", "/b/acme.dump", "--as", "x-acme", "--time", "2026-12-01 14:32"},
		{"acme", "--from-export", "/b/acme.dump", "--as", "x-acme", "--rollback"}, {"acme", "--from-export", "/b/acme.dump", "--as", "Bad Slug"},
		{"acme", "--from-export", "/b/acme.dump", "--as", "x-acme", "--keep-source", "1h"}, {"acme", "--from-export", "/b/acme.dump", "--keep-source", "soon"},
		{"acme", "--from-export", "/b/acme.dump", "--dry-run"}, {"Bad Slug", "--from-export", "/b/acme.dump"}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdRestore(cmdtest.Factory(), cmdtest.Refuse[RestoreOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}
}
