package faulttest

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// busy matches the clear "someone else is doing this" refusals a command may give when
// it meets conflicting work; any other failure is a bug.
var busy = regexp.MustCompile(`another tenantctl process is changing this tenant|another fleet migration is running|is already taken|is being created|tenant "[^"]+" is (deleting|purged|suspended|active)`)

// TestConcurrentCommands runs creates (one slug twice at once), deletes with purge,
// credential rotations, suspends, migrate up, rollup runs, reconciles and a scheduler
// firing every job every few seconds, all at once against one fleet, for several
// rounds. Every command must end (no deadlock) with success or a clear busy refusal;
// afterwards the fleet converges with nothing duplicated or lost.
func TestConcurrentCommands(t *testing.T) {
	t.Parallel()
	f := newFleet(t, pgtest.Get(t).Servers[6:8]...)
	for i := 0; i < 4; i++ {
		f.createTenant(fmt.Sprintf("conc-%d", i))
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sched := f.cmd(ctx, "", []string{"TENANTCTL_SCHEDULER_LISTEN=-",
		"TENANTCTL_MIGRATE_SCHEDULE=@every 3s", "TENANTCTL_ROLLUP_SCHEDULE=@every 2s", "TENANTCTL_AUDIT_SCHEDULE=@every 5s",
		"TENANTCTL_RECONCILE_SCHEDULE=@every 3s", "TENANTCTL_PURGE_SCHEDULE=@every 4s"}, "scheduler")
	var schedOut lockedBuffer
	sched.Stdout, sched.Stderr = &schedOut, &schedOut
	require.NoError(t, sched.Start())

	rounds := 3
	if longMode() {
		rounds = 12
	}
	runs, refusals := 0, 0
	for round := 0; round < rounds; round++ {
		f.addMigration()
		victims := []string{}
		for _, tn := range f.tenants() {
			if tn.State == "active" && len(victims) < 2 {
				victims = append(victims, tn.Slug)
			}
		}
		dup := fmt.Sprintf("dup-%d", round)
		cmds := [][]string{
			createArgs(fmt.Sprintf("new-%d-a", round)), createArgs(fmt.Sprintf("new-%d-b", round), "--no-template"),
			createArgs(dup), createArgs(dup),
			{"migrate", "up"}, {"migrate", "up"}, {"rollup", "run"}, {"rollup", "run"},
			{"reconcile"}, {"reconcile"},
		}
		for _, v := range victims[:1] {
			cmds = append(cmds, []string{"tenant", "rotate-credentials", v}, []string{"tenant", "suspend", v})
		}
		for _, v := range victims[1:] {
			cmds = append(cmds, []string{"tenant", "delete", v, "--confirm", v, "--purge"})
		}
		for _, tn := range f.tenants() {
			if tn.State == "active" {
				f.fill(tn.Slug, 2)
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, args := range cmds {
			wg.Go(func() {
				start := time.Now()
				r := f.run(args...)
				mu.Lock()
				defer mu.Unlock()
				runs++
				require.Less(t, time.Since(start), 2*time.Minute, "tenantctl %v must not wait forever", args)
				if r.code != 0 {
					require.Regexp(t, busy, r.stderr, "tenantctl %v may only be refused as busy\n%s", args, r)
					refusals++
				}
			})
		}
		wg.Wait()
		// Whatever was refused as busy is simply run again now.
		for _, tn := range f.tenants() {
			if tn.State == "suspended" {
				f.must("tenant", "resume", tn.Slug)
			}
		}
	}
	require.NoError(t, sched.Process.Signal(syscall.SIGTERM))
	require.NoError(t, sched.Wait(), "scheduler must stop cleanly on SIGTERM\n%s", schedOut.String())
	f.must("migrate", "up")
	f.assertConverged("after concurrent commands", true)
	creates := 0
	for _, tn := range f.tenants() {
		if regexp.MustCompile(`^dup-`).MatchString(tn.Slug) {
			creates++
		}
	}
	require.Equal(t, rounds, creates, "each doubly created slug exists exactly once")
	jobs := decode[[]struct {
		Status string `json:"status"`
	}](t, f.must("jobs", "--limit", "1000", "-o", "json"))
	for _, j := range jobs {
		require.NotEqual(t, "running", j.Status, "no job run is left running")
	}
	t.Logf("concurrency: %d rounds of commands at once with a scheduler firing every job: %d runs, %d refused as busy, %d job runs recorded; converged", rounds, runs, refusals, len(jobs))
}
