package backup_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// restoreHostUser is the OS user the test's sshd runs as and admits: the server's
// (postgres) when the tests run as root, so pgBackRest runs there as it does on a real
// restore host; else the user running the tests.
func restoreHostUser(t *testing.T) (name string, cred *syscall.Credential) {
	t.Helper()
	if os.Geteuid() != 0 {
		u, err := user.Current()
		require.NoError(t, err)
		return u.Username, nil
	}
	u, err := user.Lookup("postgres")
	require.NoError(t, err)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return u.Username, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
}

// startSSHD starts an unprivileged sshd (Debian's openssh-server) on a free port of
// 127.0.0.1 with a generated host key, admitting one generated client key for the
// restore host's user only, and writes the client's ssh_config for it (host alias
// "restorehost", the host key pinned). It returns that file, the restore host's user and
// sshd's log.
func startSSHD(t *testing.T, base string) (sshConfig, hostUser string, log *e2e.SyncBuffer) {
	t.Helper()
	sshd := "/usr/sbin/sshd"
	_, err := os.Stat(sshd)
	require.NoError(t, err, "the restore host test needs sshd: apt-get install openssh-server")
	hostUser, cred := restoreHostUser(t)
	dir := filepath.Join(base, "sshd")
	require.NoError(t, os.Mkdir(dir, 0o700))
	keygen := func(path string) {
		out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tenantctl-test", "-f", path).CombinedOutput()
		require.NoError(t, err, string(out))
	}
	keygen(filepath.Join(dir, "host_key"))
	keygen(filepath.Join(base, "client_key"))
	clientPub, err := os.ReadFile(filepath.Join(base, "client_key.pub"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "authorized_keys"), clientPub, 0o600))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %[2]s/host_key
AuthorizedKeysFile %[2]s/authorized_keys
PidFile %[2]s/sshd.pid
AllowUsers %[3]s
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
LogLevel VERBOSE
`, port, dir, hostUser)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(conf), 0o600))
	if cred != nil {
		for _, f := range []string{"", "host_key", "host_key.pub", "authorized_keys", "sshd_config"} {
			require.NoError(t, os.Chown(filepath.Join(dir, f), int(cred.Uid), int(cred.Gid)))
		}
	}
	log = &e2e.SyncBuffer{}
	cmd := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	hostPub, err := os.ReadFile(filepath.Join(dir, "host_key.pub"))
	require.NoError(t, err)
	fields := strings.Fields(string(hostPub))
	known := fmt.Sprintf("[127.0.0.1]:%d %s %s\n", port, fields[0], fields[1])
	require.NoError(t, os.WriteFile(filepath.Join(base, "known_hosts"), []byte(known), 0o600))
	sshConfig = filepath.Join(base, "ssh_config")
	require.NoError(t, os.WriteFile(sshConfig, []byte(fmt.Sprintf(`Host restorehost
  HostName 127.0.0.1
  Port %d
  User %s
  IdentityFile %[3]s/client_key
  IdentitiesOnly yes
  UserKnownHostsFile %[3]s/known_hosts
  StrictHostKeyChecking yes
`, port, hostUser, base)), 0o600))
	// sshd answers once it listens.
	require.Eventually(t, func() bool {
		out, err := exec.Command("ssh", "-F", sshConfig, "-o", "BatchMode=yes", "restorehost", "true").CombinedOutput()
		if err != nil {
			t.Logf("waiting for sshd: %v %s", err, out)
		}
		return err == nil
	}, 30*time.Second, 300*time.Millisecond, "sshd on port %d: %s", port, log)
	return sshConfig, hostUser, log
}

// TestTenantRestoreOnRestoreHost: with a restore host configured, the scratch instance
// of a point-in-time restore (pgBackRest's selective restore and the temporary
// postgres) runs there, driven over SSH through a real sshd and the real ssh client;
// in place and as a new customer, the tenant gets exactly T1's rows, and the scratch
// directory on the restore host is removed afterwards.
func TestTenantRestoreOnRestoreHost(t *testing.T) {
	t.Parallel()
	c, srv := backupFleet(t)
	base, err := os.MkdirTemp("", "tctl-rh-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	require.NoError(t, os.Chmod(base, 0o755))
	sshConfig, hostUser, sshdLog := startSSHD(t, base)
	// The scratch root on the restore host: the restore host's user makes it its own.
	scratch := filepath.Join(base, "scratch")
	require.NoError(t, os.Mkdir(scratch, 0o700))
	if _, cred := restoreHostUser(t); cred != nil {
		require.NoError(t, os.Chown(scratch, int(cred.Uid), int(cred.Gid)))
	}

	tn := e2e.CreateTenant(t, c, "bk")
	e2e.Fill(t, tn.DSN, 200)
	c.MustRun("backup", "run", "--server", "bk", "--type", "incr")
	time.Sleep(1100 * time.Millisecond) // pgBackRest keeps the backup's stop time in whole seconds
	want := sumsVia(t, tn.DSN)
	t1 := serverNow(t, srv)
	time.Sleep(1100 * time.Millisecond)
	damage(t, tn.DSN)
	archiveNow(t, srv)
	at := t1.Add(500 * time.Millisecond).UTC().Format(time.RFC3339Nano)

	// A restore host that is not one is refused before anything happens.
	c.Env["TENANTCTL_RESTORE_HOST"] = "-oProxyCommand=x"
	c.Expect(2, []string{"invalid restore host"}, "tenant", "restore", tn.Slug, "--time", at, "--scratch-dir", scratch)
	c.Env["TENANTCTL_RESTORE_HOST"] = "restorehost"
	c.Env["TENANTCTL_RESTORE_SSH_CONFIG"] = sshConfig

	res := e2e.Decode[map[string]any](t, c.MustRun("tenant", "restore", tn.Slug, "--time", at, "--scratch-dir", scratch, "--keep-source", "0", "-o", "json"))
	require.Equal(t, "done", res["status"], "switched, and the replaced database dropped at once (--keep-source 0)")
	require.Equal(t, want, sumsVia(t, tn.DSN), "the old DSN reaches exactly T1's rows")
	require.Contains(t, sshdLog.String(), "Accepted publickey for "+hostUser, "the restore went through the restore host's sshd")
	conn, err := pgx.Connect(context.Background(), c.Env["TENANTCTL_CATALOG_DSN"])
	require.NoError(t, err)
	var loc string
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT scratch_dir FROM tenant_restores WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1`, tn.ID).Scan(&loc))
	conn.Close(context.Background())
	require.True(t, strings.HasPrefix(loc, "ssh://restorehost/"), "the restore records where its scratch instance ran: %s", loc)
	left, err := filepath.Glob(filepath.Join(scratch, "*"))
	require.NoError(t, err)
	require.Empty(t, left, "the scratch instance on the restore host is removed")

	// As a new customer, through the restore host too.
	asSlug := "rh-" + pgtest.RandomSuffix()[:6]
	c.MustRun("tenant", "restore", tn.Slug, "--time", at, "--scratch-dir", scratch, "--as", asSlug)
	asDSN := e2e.DSNOf(c, asSlug)
	c.Secrets = append(c.Secrets, e2e.PasswordOf(asDSN))
	require.Equal(t, want, sumsVia(t, asDSN), "the new customer holds exactly T1's rows")
	left, err = filepath.Glob(filepath.Join(scratch, "*"))
	require.NoError(t, err)
	require.Empty(t, left, "the scratch instance on the restore host is removed")

	// Killed with the scratch instance made on the restore host: its SSH session dies
	// with the process, the restore host's watchdog stops the instance, and a rerun
	// starts it again there and finishes. Killed with the copy made: reconcile rolls it
	// back and removes the instance on the restore host.
	bin := e2e.BuildBinary(t)
	args := []string{"tenant", "restore", tn.Slug, "--time", at, "--scratch-dir", scratch, "--keep-source", "0"}
	kill := func(point string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "TENANTCTL_CONFIG=", "TENANTCTL_FAULT="+point,
			"TENANTCTL_CATALOG_DSN="+c.Env["TENANTCTL_CATALOG_DSN"], "TENANTCTL_SECRET_KEY="+c.Env["TENANTCTL_SECRET_KEY"],
			"TENANTCTL_RESTORE_HOST=restorehost", "TENANTCTL_RESTORE_SSH_CONFIG="+sshConfig)
		out, err := cmd.CombinedOutput()
		var exitErr *exec.ExitError
		require.ErrorAs(t, err, &exitErr, "killed at %s: %s", point, out)
		require.Equal(t, "signal: killed", exitErr.String(), string(out))
	}
	damage(t, tn.DSN)
	kill("restore.scratch.after-record")
	c.MustRun(args...)
	require.Equal(t, want, sumsVia(t, tn.DSN), "killed after the scratch step, rerun")
	damage(t, tn.DSN)
	damaged := sumsVia(t, tn.DSN)
	kill("restore.copied.before-record")
	c.MustRun("reconcile")
	require.Equal(t, damaged, sumsVia(t, tn.DSN), "killed after the copy, rolled back by reconcile")
	show := e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", tn.Slug, "-o", "json"))
	require.Equal(t, "active", show["state"])
	left, err = filepath.Glob(filepath.Join(scratch, "*"))
	require.NoError(t, err)
	require.Empty(t, left, "no scratch instance left on the restore host")
	_, errOut, code := c.Run("audit", "--no-probes")
	require.Equal(t, 0, code, errOut)
}
