package faulttest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/secret"
)

// TestNoSecretAnywhere runs every kind of command at --log-level trace against servers
// that log every statement (log_statement=all), and looks for every secret (server admin
// passwords, the catalog's and the warehouse's passwords, the operator's key, tenant app
// and owner passwords, MSP access passwords) in stdout (except `tenant dsn` and `access
// dsn`, which print one on purpose), stderr, the event log, job records, the audit
// report, the servers' logs and the process list sampled while each command ran.
func TestNoSecretAnywhere(t *testing.T) {
	t.Parallel()
	logAll := map[string]string{"log_statement": "'all'", "log_connections": "on", "log_min_error_statement": "debug5"}
	control := pgtest.Dedicated(t, "control-logall", logAll)
	a, b := pgtest.Dedicated(t, "a-logall", logAll), pgtest.Dedicated(t, "b-logall", logAll)
	f := newFleetOn(t, control, a, b)
	f.env = append(f.env, "TENANTCTL_LOG_LEVEL=trace")
	for _, e := range f.env {
		if k, v, ok := strings.Cut(e, "="); ok && (k == "TENANTCTL_SECRET_KEY" || k == "TENANTCTL_CATALOG_DSN") {
			f.secrets = append(f.secrets, v)
			if k == "TENANTCTL_CATALOG_DSN" {
				f.secrets = append(f.secrets, passwordOf(v))
			}
		}
	}
	f.secrets = append(f.secrets, passwordOf(f.warehouse))

	// ps, sampled while commands run: no secret on any command line.
	var psMu sync.Mutex
	var psOut strings.Builder
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			if out, err := exec.Command("ps", "-eo", "args").Output(); err == nil {
				psMu.Lock()
				psOut.Write(out)
				psMu.Unlock()
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	f.addMigration()
	f.createTenant("leak-a", "--server", "pg-a")
	f.createTenant("leak-b", "--server", "pg-b", "--no-template", "--contact-email", "it@leak-b.example")
	f.must("tenant", "rotate-credentials", "leak-a")
	for _, slug := range []string{"leak-a", "leak-b"} {
		f.secrets = append(f.secrets, f.ownerPassword(slug))
	}
	f.fill("leak-a", 2)
	f.must("access", "grant", "alice", "--tenant", "leak-a", "--level", "write", "--reason", "INC-9")
	access := strings.TrimSpace(f.must("access", "dsn", "alice", "--tenant", "leak-a"))
	f.secrets = append(f.secrets, passwordOf(access))
	f.addMigration()
	reportFile := filepath.Join(t.TempDir(), "audit.json")
	for _, args := range [][]string{
		{"migrate", "up"}, {"migrate", "status", "-o", "json"}, {"rollup", "run"}, {"rollup", "status", "-o", "json"},
		{"audit", "-o", "json", "--out", reportFile}, {"audit", "-o", "markdown"}, {"reconcile", "-o", "json"},
		{"tenant", "suspend", "leak-b"}, {"tenant", "resume", "leak-b"}, {"tenant", "show", "leak-a", "-o", "json"},
		{"access", "list", "-o", "json"}, {"access", "revoke", "alice", "--tenant", "leak-a"},
		{"server", "list", "-o", "json"}, {"catalog", "status", "-o", "json"},
		{"tenant", "delete", "leak-b", "--confirm", "leak-b", "--purge"},
	} {
		f.must(args...) // each run checks stdout and stderr
	}
	// A failing command's error must not carry a secret either.
	r := f.runEnv("postgres://u:"+f.secrets[0]+"@127.0.0.1:1/x\n", nil, "server", "add", "bad", "--dsn", "-")
	require.NotEqual(t, 0, r.code)
	stop()
	wg.Wait()

	records := map[string]string{
		"events":       f.must("events", "--limit", "1000", "-o", "json"),
		"jobs":         f.must("jobs", "--limit", "1000", "-o", "json"),
		"audit report": mustRead(t, reportFile),
		"ps":           psOut.String(),
	}
	for _, s := range []*pgtest.Server{control, a, b} {
		records["server log of "+s.Name] = s.ServerLog(t)
	}
	for what, text := range records {
		require.NotEmpty(t, text, what)
		if leak := pgtest.Contains(text, f.secrets...); leak != "" {
			t.Fatalf("a secret leaked into %s", what)
		}
	}
	require.Contains(t, records["server log of a-logall"], "SCRAM-SHA-256$", "servers get verifiers, and the log shows statements")
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// ownerPassword is the tenant owner role's password, unsealed from the catalog with
// the fleet's key: no command prints it (it is tenantctl's own login), so the test
// reads it to look for it everywhere else.
func (f *fleet) ownerPassword(slug string) string {
	f.t.Helper()
	ctx := context.Background()
	key := ""
	for _, e := range f.env { // the last one is the binary's
		if k, v, ok := strings.Cut(e, "="); ok && k == "TENANTCTL_SECRET_KEY" {
			key = v
		}
	}
	box, err := secret.LoadKey("", key)
	require.NoError(f.t, err)
	st, err := catalog.Open(ctx, f.control.SuperDSN(f.catalogDB), box)
	require.NoError(f.t, err)
	defer st.Close()
	pw, err := st.Credential(ctx, f.tenant(slug).ID, catalog.OwnerCredential)
	require.NoError(f.t, err)
	return pw
}
