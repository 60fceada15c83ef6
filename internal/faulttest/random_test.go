package faulttest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// randomKills is how many commands TestRandomKills kills: a dozen in `make test`,
// hundreds in `make test-long` (FAULTTEST_LONG=1), or exactly FAULTTEST_RANDOM_KILLS.
func randomKills(t *testing.T) int {
	if s := os.Getenv("FAULTTEST_RANDOM_KILLS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "FAULTTEST_RANDOM_KILLS")
		return n
	}
	if longMode() {
		return 300
	}
	return 12
}

// testSeed is FAULTTEST_SEED, or a new seed; the caller logs it so a run can be replayed.
func testSeed(t *testing.T) uint64 {
	if s := os.Getenv("FAULTTEST_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "FAULTTEST_SEED")
		return seed
	}
	return uint64(time.Now().UnixNano())
}

func longMode() bool { return os.Getenv("FAULTTEST_LONG") == "1" }

// TestRandomKills starts real tenantctl commands of every kind that changes something,
// kills each with SIGKILL from outside after a random delay (wherever it happens to
// be: mid-statement, mid-COPY, mid-migration), reruns it or leaves it to reconcile, and
// checks that the fleet converges. The seed is logged; FAULTTEST_SEED replays a run.
func TestRandomKills(t *testing.T) {
	t.Parallel()
	seed := testSeed(t)
	t.Logf("FAULTTEST_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	f := newFleet(t, pgtest.Get(t).Servers[2:4]...)
	f.createTenant("seed-co")
	n := randomKills(t)
	var killed, finished, reruns int
	for i := 0; i < n; i++ {
		args := f.randomCommand(rng, i)
		delay := time.Duration(rng.IntN(700)) * time.Millisecond
		r := f.runKilledAfter(delay, args...)
		if r.killed {
			killed++
		} else {
			finished++
			require.Contains(t, []int{0, 1, 2}, r.code, "tenantctl %v\n%s", args, r)
		}
		f.waitServerSessionsGone()
		if rng.IntN(2) == 0 {
			// The same command again: it finishes the work, or says there is nothing to
			// do (exit 2: nothing changed); it never fails.
			r := f.run(args...)
			require.Contains(t, []int{0, 2}, r.code, "rerun of tenantctl %v after a kill at %s\n%s", args, delay, r)
			reruns++
		}
		r = f.run("reconcile")
		require.Equal(t, 0, r.code, "reconcile after tenantctl %v killed at %s\n%s", args, delay, r)
		if i%6 == 5 || i == n-1 {
			f.assertConverged(fmt.Sprintf("random kill %d (%v after %s, seed %d)", i, args, delay, seed), i == n-1)
		}
	}
	t.Logf("random kills: %d commands, %d killed, %d finished before the kill, %d reruns; converged every time", n, killed, finished, reruns)
}

// randomCommand picks a command that changes the fleet, on a random tenant.
func (f *fleet) randomCommand(rng *rand.Rand, i int) []string {
	f.t.Helper()
	var live, active, suspended, deleting []string
	for _, tn := range f.tenants() {
		switch tn.State {
		case "active":
			active = append(active, tn.Slug)
		case "suspended":
			suspended = append(suspended, tn.Slug)
		case "deleting":
			deleting = append(deleting, tn.Slug)
		}
		if tn.State == "active" || tn.State == "suspended" {
			live = append(live, tn.Slug)
		}
	}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	for {
		switch rng.IntN(12) {
		case 0, 1:
			slug := fmt.Sprintf("r%d-%s", i, pgtest.RandomSuffix()[:4])
			return createArgs(slug)
		case 2:
			slug := fmt.Sprintf("r%d-%s", i, pgtest.RandomSuffix()[:4])
			return createArgs(slug, "--no-template")
		case 3:
			if len(live) > 0 {
				return []string{"tenant", "rotate-credentials", pick(live)}
			}
		case 4:
			if len(active) > 2 {
				return []string{"tenant", "suspend", pick(active)}
			}
			if len(suspended) > 0 {
				return []string{"tenant", "resume", pick(suspended)}
			}
		case 5:
			if len(active) > 3 {
				slug := pick(active)
				return []string{"tenant", "delete", slug, "--confirm", slug}
			}
		case 6:
			if len(deleting) > 0 {
				slug := pick(deleting)
				return []string{"tenant", "purge", slug, "--confirm", slug}
			}
		case 7:
			if len(live) > 0 {
				return []string{"access", "grant", []string{"alice", "bob"}[rng.IntN(2)], "--tenant", pick(live), "--reason", "random"}
			}
		case 8:
			grants := decode[[]struct {
				Tenant string `json:"tenant"`
				Login  string `json:"login"`
			}](f.t, f.must("access", "list", "-o", "json"))
			if len(grants) > 0 {
				g := grants[rng.IntN(len(grants))]
				return []string{"access", "revoke", g.Login, "--tenant", g.Tenant}
			}
		case 9:
			if rng.IntN(4) == 0 {
				f.addMigration()
			}
			return []string{"migrate", "up"}
		case 10:
			if len(active) > 0 {
				f.fill(pick(active), 1+rng.IntN(3))
			}
			return []string{"rollup", "run"}
		case 11:
			return []string{"reconcile"}
		}
	}
}

// runKilledAfter starts the command and kills it with SIGKILL after delay, unless it
// finished first.
func (f *fleet) runKilledAfter(delay time.Duration, args ...string) result {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := f.cmd(ctx, "", nil, args...)
	var out, errOut lockedBuffer
	c.Stdout, c.Stderr = &out, &errOut
	require.NoError(f.t, c.Start())
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(delay):
		_ = c.Process.Signal(syscall.SIGKILL)
		err = <-done
	}
	r := result{stdout: out.String(), stderr: errOut.String()}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		r.code = exitErr.ExitCode()
		r.killed = exitErr.String() == "signal: killed"
	} else if err != nil {
		f.t.Fatalf("tenantctl %v: %v", args, err)
	}
	f.checkNoSecret(args, r)
	return r
}
