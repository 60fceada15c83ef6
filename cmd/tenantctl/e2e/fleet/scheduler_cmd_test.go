package fleet_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/root"
	schedulercmd "github.com/tenantctl/tenantctl/cli/scheduler"
	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/scheduler"
)

func TestSchedulerRejectsInvalidSettings(t *testing.T) {
	t.Parallel()
	// No catalog is configured: settings are checked before anything is contacted.
	c := &e2e.CLI{T: t, Env: map[string]string{}}
	c.Expect(2, []string{"--rollup-schedule", `invalid schedule "bogus"`}, "scheduler", "--rollup-schedule", "bogus")
	c.Expect(2, []string{"--migrate-schedule", "expected exactly 5 fields"}, "scheduler", "--migrate-schedule", "0 0 * * * *")
	c.Expect(2, []string{"@every needs a duration of at least 1s"}, "scheduler", "--purge-schedule", "@every 10ms")
	c.Expect(2, []string{"never fires"}, "scheduler", "--audit-schedule", "0 0 30 2 *")
	c.Expect(2, []string{"invalid --job-retention"}, "scheduler", "--job-retention", "a month")
	c.Expect(2, []string{"invalid --backup-max-age"}, "scheduler", "--backup-max-age", "-1h")
	c.Expect(2, []string{"takes no arguments"}, "scheduler", "now")

	c.Env["TENANTCTL_AUDIT_SCHEDULE"] = "61 * * * *"
	c.Expect(2, []string{"--audit-schedule", `"61 * * * *"`}, "scheduler")
	c.Env["TENANTCTL_AUDIT_SCHEDULE"] = "off"

	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("scheduler:\n  reconcile_schedule: every five minutes\n"), 0o600))
	c.Env["TENANTCTL_CONFIG"] = cfg
	c.Expect(2, []string{"--reconcile-schedule", `"every five minutes"`}, "scheduler")
	// The flag wins over the config file.
	c.Expect(2, []string{"no catalog configured"}, "scheduler", "--reconcile-schedule", "@every 5m")

	require.NoError(t, os.WriteFile(cfg, []byte("scheduler:\n  rollup_shedule: '@hourly'\n"), 0o600))
	c.Expect(2, []string{"unknown scheduler setting(s) rollup_shedule", "rollup_schedule"}, "scheduler")
}

// TestSchedulerCommandStopsOnSignal runs the command in-process: main turns SIGTERM into
// the cancellation of the command's context, which must end in exit status 0 after the
// purge and reconcile jobs ran (and a job not in this build failed without stopping
// anything).
func TestSchedulerCommandStopsOnSignal(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut bytes.Buffer
	done := make(chan int)
	go func() {
		done <- root.Run(ctx, []string{"scheduler", "--listen", addr, "--node", "inproc",
			"--purge-schedule", "@every 1s", "--rollup-schedule", "@every 1s",
			"--reconcile-schedule", "@every 1s", "--migrate-schedule", "off", "--audit-schedule", "off"},
			strings.NewReader(""), &out, &errOut, func(k string) string { return c.Env[k] })
	}()
	require.Eventually(t, func() bool {
		jobs := e2e.Decode[[]map[string]any](t, c.MustRun("jobs", "-o", "json"))
		seen := map[string]bool{}
		for _, j := range jobs {
			if j["status"] != "running" {
				seen[fmt.Sprint(j["job"], "/", j["status"])] = true
			}
		}
		return seen["purge/succeeded"] && seen["reconcile/succeeded"] && seen["rollup/failed"]
	}, 15*time.Second, 200*time.Millisecond)
	body := httpGet(t, "http://"+addr+"/metrics")
	require.Contains(t, body, "tenantctl_scheduler_leader 1")
	require.Contains(t, body, `tenantctl_scheduler_job_runs_total{job="purge",status="succeeded"}`)

	jobs := e2e.Decode[[]map[string]any](t, c.MustRun("jobs", "-o", "json"))
	for _, j := range jobs {
		for _, field := range []string{"id", "job", "started_at", "finished_at", "status", "error", "node"} {
			require.Contains(t, j, field)
		}
		require.Equal(t, "inproc", j["node"])
		if j["job"] == "rollup" && j["status"] == "failed" {
			// This catalog has no warehouse: the rollup fails, is recorded, and the
			// scheduler carries on with the other jobs.
			require.Contains(t, j["error"], "no warehouse registered")
		}
	}
	require.Contains(t, c.MustRun("jobs"), "inproc")

	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code, "stderr: %s", errOut.String())
	case <-time.After(15 * time.Second):
		t.Fatal("scheduler did not stop")
	}
	require.Contains(t, errOut.String(), "released the leader lock")
}

// TestSchedulerReplicasHandOver runs two `tenantctl scheduler` processes against one
// catalog: only one runs jobs; kill -9 of the leader hands over to the other within
// seconds; SIGTERM stops the survivor with exit status 0.
func TestSchedulerReplicasHandOver(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	bin := e2e.BuildBinary(t)
	procs := map[string]*schedulerProc{}
	for _, node := range []string{"node-a", "node-b"} {
		procs[node] = startScheduler(t, bin, c, node)
	}
	probe := func(p *schedulerProc) string {
		resp, err := http.Get("http://" + p.addr + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	leaderNode := func() string {
		var leaders []string
		for node, p := range procs {
			if strings.Contains(probe(p), "\ntenantctl_scheduler_leader 1\n") {
				leaders = append(leaders, node)
			}
		}
		if len(leaders) != 1 {
			return ""
		}
		return leaders[0]
	}
	var leader string
	require.Eventually(t, func() bool { leader = leaderNode(); return leader != "" }, 15*time.Second, 100*time.Millisecond)
	other := map[string]string{"node-a": "node-b", "node-b": "node-a"}[leader]

	purgesBy := func() map[string]int {
		n := map[string]int{}
		for _, j := range e2e.Decode[[]map[string]any](t, c.MustRun("jobs", "--limit", "1000", "-o", "json")) {
			if j["job"] == "purge" {
				n[j["node"].(string)]++
			}
		}
		return n
	}
	require.Eventually(t, func() bool { return purgesBy()[leader] >= 3 }, 15*time.Second, 200*time.Millisecond)
	require.Zero(t, purgesBy()[other], "the standby runs nothing")

	// The probe subcommand is what the container health check runs.
	out := c.MustRun("scheduler", "probe", "--listen", procs[other].addr, "--ready")
	require.Contains(t, out, "200")

	killed := time.Now()
	require.NoError(t, procs[leader].cmd.Process.Signal(syscall.SIGKILL))
	<-procs[leader].done
	require.Eventually(t, func() bool { return leaderNode() == other }, 10*time.Second, 100*time.Millisecond,
		"the standby takes over when the leader dies")
	require.Eventually(t, func() bool { return purgesBy()[other] >= 1 }, 10*time.Second, 100*time.Millisecond)
	t.Logf("handover after kill -9 took %s", time.Since(killed).Round(time.Millisecond))

	require.NoError(t, procs[other].cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-procs[other].done:
	case <-time.After(20 * time.Second):
		t.Fatal("the scheduler did not stop on SIGTERM")
	}
	require.Equal(t, 0, procs[other].cmd.ProcessState.ExitCode(), "stderr:\n%s", procs[other].stderr.String())
	require.Contains(t, procs[other].stderr.String(), "released the leader lock")
	c.Expect(1, []string{"probe scheduler"}, "scheduler", "probe", "--listen", procs[other].addr)
}

type schedulerProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *e2e.SyncBuffer
	done   chan struct{}
}

func startScheduler(t *testing.T, bin string, c *e2e.CLI, node string) *schedulerProc {
	t.Helper()
	p := &schedulerProc{addr: freeAddr(t), stderr: &e2e.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "scheduler", "--node", node, "--listen", p.addr,
		"--purge-schedule", "@every 1s", "--migrate-schedule", "off", "--rollup-schedule", "off",
		"--audit-schedule", "off", "--reconcile-schedule", "off")
	p.cmd.Dir = t.TempDir() // no stray ./.tenantctl/config.yaml
	p.cmd.Env = append(os.Environ(),
		"TENANTCTL_CATALOG_DSN="+c.Env["TENANTCTL_CATALOG_DSN"],
		"TENANTCTL_SECRET_KEY="+c.Env["TENANTCTL_SECRET_KEY"],
		"TENANTCTL_CONFIG="+os.DevNull)
	p.cmd.Stdout = io.Discard
	p.cmd.Stderr = p.stderr
	require.NoError(t, p.cmd.Start())
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("scheduler %s stderr:\n%s", node, p.stderr.String())
		}
	})
	return p
}

// freeAddr returns a loopback address with a port free at the time of the call.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	return string(b)
}

// TestSystemdUnitExample keeps the systemd example in step with the command: it runs
// `tenantctl scheduler`, gives running jobs longer than the shutdown timeout to finish,
// does not restart on configuration errors, and its environment file names only
// settings that exist.
func TestSystemdUnitExample(t *testing.T) {
	t.Parallel()
	unit, err := os.ReadFile("../../../../deploy/systemd/tenantctl-scheduler.service")
	require.NoError(t, err)
	settings := map[string]string{}
	for _, line := range strings.Split(string(unit), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			settings[k] = v
		}
	}
	require.Equal(t, "/usr/local/bin/tenantctl scheduler", settings["ExecStart"])
	require.Equal(t, "SIGTERM", settings["KillSignal"])
	require.Equal(t, "2", settings["RestartPreventExitStatus"])
	stop, err := time.ParseDuration(settings["TimeoutStopSec"] + "s")
	require.NoError(t, err)
	require.Greater(t, stop, scheduler.DefaultShutdownTimeout)
	require.NotEqual(t, "root", settings["User"])

	env, err := os.ReadFile("../../../../deploy/systemd/scheduler.env.example")
	require.NoError(t, err)
	known := map[string]bool{"TENANTCTL_CATALOG_DSN": true, "TENANTCTL_SECRET_KEY_FILE": true, "TENANTCTL_LOG_FORMAT": true}
	for _, s := range schedulercmd.Settings {
		known[s.Env] = true
	}
	for _, line := range strings.Split(string(env), "\n") {
		line = strings.TrimPrefix(line, "#")
		if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "TENANTCTL_") {
			require.True(t, known[k], "unknown setting %s in scheduler.env.example", k)
			if strings.HasSuffix(k, "_SCHEDULE") {
				_, err := scheduler.ParseSchedule(v)
				require.NoError(t, err, line)
			}
		}
	}
}
