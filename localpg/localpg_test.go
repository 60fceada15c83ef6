package localpg

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func tempBase(t *testing.T) string {
	t.Helper()
	// Not t.TempDir: its parents are mode 0700, which the postgres OS user cannot
	// traverse when the tests run as root.
	dir, err := os.MkdirTemp("", "localpg-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestClusterLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(tempBase(t), "c1")
	c, err := Init(ctx, Options{Dir: dir, Fast: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Remove(context.Background()) })
	require.NoError(t, c.StopWhenProcessExits(os.Getpid(), false))

	require.False(t, c.Status(ctx).Running)
	require.NoError(t, c.Start(ctx))
	require.NoError(t, c.Start(ctx), "starting a running cluster is a no-op")
	st := c.Status(ctx)
	require.True(t, st.Running)
	require.NotZero(t, st.PID)

	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	require.NoError(t, err)
	var method, listen string
	require.NoError(t, conn.QueryRow(ctx, `SELECT current_setting('password_encryption'), current_setting('listen_addresses')`).Scan(&method, &listen))
	require.Equal(t, "scram-sha-256", method)
	require.Equal(t, "127.0.0.1", listen)
	conn.Close(ctx)

	// A wrong password is refused: authentication is scram, not trust.
	bad := *c
	bad.Password = "wrong-password"
	_, err = pgx.Connect(ctx, bad.DSN("postgres"))
	require.Error(t, err)

	// Reopening from the directory gives the same cluster.
	again, err := Open(dir)
	require.NoError(t, err)
	require.Equal(t, c.Port, again.Port)
	require.Equal(t, c.Password, again.Password)
	same, err := Init(ctx, Options{Dir: dir})
	require.NoError(t, err)
	require.Equal(t, c.Port, same.Port, "Init on an existing cluster opens it")

	require.NoError(t, c.Stop(ctx))
	require.False(t, c.Status(ctx).Running)
	require.NoError(t, c.Stop(ctx), "stopping a stopped cluster is a no-op")
	require.NoError(t, c.Remove(ctx))
	_, err = os.Stat(dir)
	require.True(t, errors.Is(err, os.ErrNotExist))
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(filepath.Join(tempBase(t), "nothing"))
	require.ErrorIs(t, err, ErrNotInitialized)
}

func TestFindBinDirNoBinaries(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("TENANTCTL_PG_BINDIR", t.TempDir())
	old := debianGlob
	debianGlob = filepath.Join(t.TempDir(), "*", "bin")
	t.Cleanup(func() { debianGlob = old })
	_, err := FindBinDir()
	require.ErrorIs(t, err, ErrNoBinaries)
	require.Contains(t, err.Error(), "apt-get install postgresql")
	require.Contains(t, err.Error(), "TENANTCTL_CATALOG_DSN")
	require.Contains(t, err.Error(), "docker compose up")

	_, err = Init(context.Background(), Options{Dir: filepath.Join(tempBase(t), "x")})
	require.ErrorIs(t, err, ErrNoBinaries)
}

func TestFindBinDir(t *testing.T) {
	dir, err := FindBinDir()
	require.NoError(t, err, "the tests need PostgreSQL server binaries")
	require.True(t, hasServerBinaries(dir))
}

// TestWatchdogOfADeadProcessDoesNotStopTheNextStart: a process that owned the cluster is
// killed; the next process waits for that process's watchdog before starting the
// cluster again, so the watchdog (which wakes every half second) cannot stop the new
// server. Without the wait, the restart races the watchdog's SIGINT.
func TestWatchdogOfADeadProcessDoesNotStopTheNextStart(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(tempBase(t), "c2")
	c, err := Init(ctx, Options{Dir: dir, Fast: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Remove(context.Background()) })
	owner := exec.Command("sleep", "60")
	require.NoError(t, owner.Start())
	require.NoError(t, c.StopWhenProcessExits(owner.Process.Pid, false))
	require.NoError(t, c.Start(ctx))
	require.NoError(t, owner.Process.Kill())
	_ = owner.Wait()

	require.NoError(t, c.WaitForWatchdogs(ctx, 30*time.Second))
	require.False(t, c.Status(ctx).Running, "the dead owner's watchdog stopped the server before the wait returned")
	require.NoError(t, c.StopWhenProcessExits(os.Getpid(), false))
	require.NoError(t, c.Start(ctx))
	time.Sleep(1500 * time.Millisecond) // three of the old watchdog's wake-ups
	require.True(t, c.Status(ctx).Running, "the new server still runs")
	markers, err := filepath.Glob(filepath.Join(dir, "watchdog-*"))
	require.NoError(t, err)
	require.Len(t, markers, 1, "only this process's watchdog is left: %v", markers)
}

// TestStopWhileAnotherStops: a stop that meets a server already shutting down (the
// watchdog of a killed run sends its SIGINT at any instant) succeeds once the server is
// down, whether pg_ctl still found the PID file or not. Each round sends the SIGINT a
// little later before the stop, to sweep the window between the stop's own check and
// pg_ctl's read of the PID file.
func TestStopWhileAnotherStops(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(tempBase(t), "c3")
	c, err := Init(ctx, Options{Dir: dir, Fast: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Remove(context.Background()) })
	require.NoError(t, c.StopWhenProcessExits(os.Getpid(), false))
	for round := 0; round < 12; round++ {
		require.NoError(t, c.Start(ctx))
		pid := c.Status(ctx).PID
		require.NotZero(t, pid)
		require.NoError(t, syscall.Kill(pid, syscall.SIGINT))
		time.Sleep(time.Duration(round) * 3 * time.Millisecond)
		require.NoError(t, c.Stop(ctx), "round %d: a stop racing another stop", round)
		require.False(t, c.Status(ctx).Running, "round %d", round)
	}
}
