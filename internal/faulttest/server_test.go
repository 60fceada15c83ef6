package faulttest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// faultBound is how long a fleet command may take when one server is stopped or frozen:
// the connect timeout (10 s by default; TestServerStoppedOrFrozen reaches its bad server
// with frozenParams' 2 s while it is bad, see shortBounds) per connection attempt, a few
// attempts, and slack for a loaded machine. A command that hangs on the dead server fails
// the test.
const faultBound = 90 * time.Second

// serverFaultCommands are the fleet commands run against a fleet with one bad server:
// each must finish within faultBound, fail (exit 1) naming what failed, and leave the
// healthy server's tenants done.
func (f *fleet) runWithBadServer(what string, bad []string) {
	f.t.Helper()
	f.addMigration()
	type expect struct {
		args []string
		code int
		name []string // words stderr or stdout must hold
	}
	for _, e := range []expect{
		// No canary wave and no failure limit: a canary failure would rightly stop the
		// run, and here the point is that the healthy server's tenants are migrated.
		{[]string{"migrate", "up", "--canary", "0", "--max-failures", "0"}, 1, bad},
		{[]string{"rollup", "run"}, 1, bad},
		{[]string{"audit", "--no-probes"}, 1, []string{"pg-b"}},
		{createArgs("good-"+pgtest.RandomSuffix()[:4], "--server", "pg-a", "--no-template"), 0, nil},
		{createArgs("lost-"+pgtest.RandomSuffix()[:4], "--server", "pg-b"), 1, []string{"lost-"}},
		{[]string{"reconcile"}, 1, []string{"pg-b"}},
	} {
		start := time.Now()
		r := f.run(e.args...)
		took := time.Since(start)
		require.Less(f.t, took, faultBound, "%s: tenantctl %v must not hang on the bad server\n%s", what, e.args, r)
		require.Equal(f.t, e.code, r.code, "%s: tenantctl %v\n%s", what, e.args, r)
		for _, w := range e.name {
			require.Contains(f.t, r.stdout+r.stderr, w, "%s: tenantctl %v must name what failed", what, e.args)
		}
		f.t.Logf("%s: tenantctl %v: exit %d after %s", what, e.args, r.code, took.Round(time.Millisecond))
	}
	// The healthy server's tenants were migrated and rolled up all the same.
	for _, tn := range f.tenants() {
		if tn.Server == "pg-a" && tn.State == "active" {
			require.Equal(f.t, int64(f.nextMig), tn.SchemaVersion, "%s: healthy tenant %s migrated", what, tn.Slug)
		}
	}
}

// shortBounds changes how the fleet reaches server i (which must be up): with
// frozenParams' short client-side bounds (connect 2 s, liveness 1 s + 1 s, where the
// defaults are 10 s, 10 s + 5 s) while a test makes it stop or freeze, since the test is
// about the path a command takes past a bad server, not about waiting out the default
// timeouts (about 140 s of TestServerStoppedOrFrozen's run with them; a hang still fails
// it); with the defaults again before the fleet recovers, since a loaded machine can take
// more than 2 s to log a client in to a healthy server.
func (f *fleet) shortBounds(i int, on bool) {
	f.t.Helper()
	dsn := f.servers[i].AdminDSN(f.t)
	if on {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + frozenParams
	}
	f.mustStdin(dsn+"\n", "server", "set", fmt.Sprintf("pg-%c", 'a'+i), "--dsn-stdin")
}

// recoverFrom brings the fleet back after the bad server is back: the failed create is
// retried by reconcile, the rest by rerunning the fleet commands.
func (f *fleet) recoverFrom(what string) {
	f.t.Helper()
	f.must("reconcile")
	f.must("migrate", "up")
	f.assertConverged(what, true)
}

// TestServerStoppedOrFrozen runs the fleet commands while one tenant server is stopped,
// and while it is frozen with SIGSTOP (it accepts TCP connections but never answers):
// every command finishes within its timeouts, names the failures, completes the healthy
// server's work, and the fleet converges once the server is back.
func TestServerStoppedOrFrozen(t *testing.T) {
	t.Parallel()
	healthy := pgtest.Dedicated(t, "healthy", nil)
	victim := pgtest.Dedicated(t, "victim", nil)
	f := newFleet(t, healthy, victim)
	var bad []string
	for i := 0; i < 2; i++ {
		f.createTenant(fmt.Sprintf("ok-%d", i), "--server", "pg-a")
		bad = append(bad, f.createTenant(fmt.Sprintf("vic-%d", i), "--server", "pg-b").Slug)
	}
	f.must("rollup", "run")

	f.shortBounds(1, true)
	victim.Stop(t)
	f.runWithBadServer("server stopped", bad)
	victim.Start(t)
	f.shortBounds(1, false)
	f.recoverFrom("after the stopped server started again")

	f.shortBounds(1, true)
	victim.Freeze(t)
	f.runWithBadServer("server frozen", bad)
	victim.Thaw(t)
	f.shortBounds(1, false)
	f.recoverFrom("after the frozen server was thawed")

	// Frozen in the middle of a command: its established connections get no answer.
	for _, args := range [][]string{{"migrate", "up"}, {"rollup", "run"}, {"audit"}} {
		if args[0] == "migrate" {
			f.addMigration()
		}
		for _, slug := range []string{"ok-0", "vic-0"} {
			f.fill(slug, 50)
		}
		f.shortBounds(1, true)
		done := make(chan result, 1)
		start := time.Now()
		go func() { done <- f.runEnv("", nil, args...) }()
		time.Sleep(300 * time.Millisecond)
		victim.Freeze(t)
		var r result
		select {
		case r = <-done:
		case <-time.After(faultBound):
			victim.Thaw(t)
			t.Fatalf("tenantctl %v hung on a server frozen mid-command", args)
		}
		victim.Thaw(t)
		f.shortBounds(1, false)
		t.Logf("frozen mid-command: tenantctl %v: exit %d after %s", args, r.code, time.Since(start).Round(time.Millisecond))
		require.Contains(t, []int{0, 1}, r.code, "%v\n%s", args, r)
		if r.code == 1 {
			require.True(t, strings.Contains(r.stdout+r.stderr, "vic-") || strings.Contains(r.stdout+r.stderr, "pg-b"), "failure names the frozen server or its tenants\n%s", r)
		}
		f.recoverFrom(fmt.Sprintf("after %v met a server frozen mid-command", args))
	}
}
