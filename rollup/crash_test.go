package rollup_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	osexec "os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/rollup"
	"github.com/tenantctl/tenantctl/secret"
)

// The test binary re-executes itself as a child that runs one rollup, so the test can
// kill it with SIGKILL at an arbitrary instant: no deferred cleanup, no rollback sent,
// connections cut mid-COPY.
const (
	childEnv        = "ROLLUP_TEST_CHILD"
	childCatalogEnv = "ROLLUP_TEST_CATALOG"
	childKeyEnv     = "ROLLUP_TEST_KEY"
	childCrashEnv   = "ROLLUP_TEST_CRASH"
)

func childMain() int {
	ctx := context.Background()
	box, err := secret.LoadKey("", os.Getenv(childKeyEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	store, err := catalog.Open(ctx, os.Getenv(childCatalogEnv), box)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer store.Close()
	die := func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL); select {} }
	var hooks rollup.Hooks
	switch os.Getenv(childCrashEnv) {
	case "after-table":
		hooks.AfterTable = func(string, string) error { die(); return nil }
	case "before-commit":
		hooks.BeforeCommit = func(string) error { die(); return nil }
	}
	if _, err := rollup.Run(ctx, rollup.Options{Store: store, Spec: rollup.DefaultSpec(), Hooks: hooks, Options: fleet.Options{Concurrency: 2}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestKilledRunsThenRerunIsExact(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 2})
	for _, ten := range b.tenants {
		// Enough rows that copying takes a while and can be cut in the middle.
		seed(t, b.tenantConn(ten), 60_000)
	}
	// How each child run ends: killed from outside while a COPY streams into the
	// warehouse, killing itself at a hook, or left to finish.
	plan := []string{"mid-copy", "before-commit", "finish", "after-table", "mid-copy", "before-commit", "finish", "mid-copy"}
	killed := 0
	for i, how := range plan {
		t.Logf("%s: run %d", time.Now().Format(time.TimeOnly), i)
		if i > 0 {
			for _, ten := range b.tenants {
				mutate(t, b.tenantConn(ten), 500)
			}
			exec(t, b.tenantConn(b.tenants[i%2]), `UPDATE incidents SET priority = 1 + (priority % 4) WHERE id % 5 = 0`)
		}
		cmd := osexec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=1", childCatalogEnv+"="+b.catalogDSN, childKeyEnv+"="+b.key, childCrashEnv+"="+how)
		var stderr limitedBuffer
		cmd.Stderr = &stderr
		started := time.Now()
		require.NoError(t, cmd.Start())
		if how == "mid-copy" {
			b.waitForCopy(t, 30*time.Second)
			time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
		err := cmd.Wait()
		t.Logf("run %d (%s): %s", i, how, time.Since(started).Round(time.Millisecond))
		var exitErr *osexec.ExitError
		if errors.As(err, &exitErr) {
			if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				killed++
				continue
			}
		}
		require.NoError(t, err, "child rollup (%s) failed: %s", how, stderr.String())
	}
	require.GreaterOrEqual(t, killed, 5, "runs were not killed as planned: the test proved nothing")

	b.mustRun(rollup.Options{})
	b.requireEqual(defaultTables)
	// And a further run leaves it so.
	b.mustRun(rollup.Options{})
	b.requireEqual(defaultTables)
}

// waitForCopy waits until a COPY streams into the warehouse (or the timeout passes: a
// run with little to copy may finish first, which the caller tolerates).
func (b *testBundle) waitForCopy(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var n int
		require.NoError(t, b.wh.QueryRow(context.Background(), `
			SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND state = 'active' AND query LIKE 'COPY %FROM STDIN%'`).Scan(&n))
		if n > 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// limitedBuffer keeps the first 64 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 64<<10 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
