package local_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/backup"
	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
)

// TestDemo runs the README's first command end to end on its own clusters, the way a
// newcomer does: from a project cloned into a home directory with mode 0700 (as root,
// like /root in a container). A fresh machine with no catalog configured gets a
// working, migrated, audited fleet; a second run changes nothing; dev down --purge
// removes everything the demo created and says so.
func TestDemo(t *testing.T) {
	t.Parallel()
	_, perr := backup.Program()
	require.NoError(t, perr, "the demo's restore step needs pgBackRest: apt-get install pgbackrest")
	home, err := os.MkdirTemp("", "tenantctl-demo-home-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(home, 0o700))
	t.Cleanup(func() { os.RemoveAll(home) })
	project := filepath.Join(home, "newcomer")
	require.NoError(t, os.Mkdir(project, 0o755))
	cfg := filepath.Join(project, ".tenantctl", "config.yaml")
	c := &e2e.CLI{T: t, Env: map[string]string{"TENANTCTL_CONFIG": cfg}}
	purged := false
	t.Cleanup(func() {
		if !purged {
			c.Run("dev", "down", "--purge")
		}
	})

	out := c.MustRun("demo")
	var dataDir string
	if os.Geteuid() == 0 {
		// The postgres OS user cannot enter the home directory: the clusters go to
		// /var/tmp, and the demo says so in one line.
		m := regexp.MustCompile(`(?m)^note: cluster data is in (/var/tmp/tenantctl-0/dev-[0-9a-f]{8}) \(` + regexp.QuoteMeta(home) + ` is not searchable by the postgres OS user\)`).FindStringSubmatch(out)
		require.NotNil(t, m, out)
		dataDir = m[1]
		require.DirExists(t, filepath.Join(dataDir, "control", "data"))
		require.FileExists(t, filepath.Join(project, ".tenantctl", "dev", "secret.key"), "the key stays in the project")
	} else {
		require.NotContains(t, out, "note: cluster data is in", "a normal user's server can read its own home")
		dataDir = filepath.Join(project, ".tenantctl", "dev")
	}
	require.Contains(t, out, "created: [acme globex initech]")
	require.Contains(t, out, "3 tenant(s) migrated")
	require.Contains(t, out, "Isolation audit PASSED")
	require.Contains(t, out, "26 row(s) copied", "the demo rolls every seeded row up")
	require.Contains(t, out, "cross-tenant summary, from the warehouse")
	require.Contains(t, out, "'tenantctl serve' and open http://127.0.0.1:8080", "the demo ends by saying how to open the console")
	require.Regexp(t, `initech\s+Initech LLC\s+4\s+3\s+2\s+1`, out, "the summary counts each customer's own rows")
	// The demo ends with a point-in-time restore of acme, in place, with pgBackRest.
	require.Contains(t, out, "==> point-in-time restore of one customer (acme), in place")
	require.Regexp(t, `server pg-[ab] backed up with pgBackRest: incr backup \S+F`, out, "the first backup of the server is a full one")
	require.Contains(t, out, "oops: 4 incident(s) of acme deleted; it has incidents 0, systems 3, users 3")
	require.Regexp(t, `tenant restore acme --time \S+: \d+ tables, \d+ rows verified, downtime`, out)
	require.Contains(t, out, "acme has its rows back through its own DSN: incidents 4, systems 3, users 3")
	require.Regexp(t, `neighbour (globex|initech) on (the same server|server) pg-[ab] untouched: incidents [234], systems [23], users [234]`, out)
	require.NotContains(t, out, "skipped:")
	require.Less(t, strings.Index(out, "Isolation audit PASSED"), strings.Index(out, "point-in-time restore"), "the demo ends with the restore")

	tenants := e2e.Decode[[]map[string]any](t, c.MustRun("tenant", "list", "-o", "json"))
	require.Len(t, tenants, 3)
	servers := map[any]int{}
	for _, tn := range tenants {
		require.Equal(t, float64(3), tn["schema_version"], "the demo rolled out its migrations")
		servers[tn["server"]]++
	}
	require.Len(t, servers, 2, "the demo spreads tenants over both servers")
	show := e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", "initech", "-o", "json"))
	rows := show["stats"].(map[string]any)["rows"].(map[string]any)
	require.Equal(t, float64(4), rows["users"], "seeded through the tenant's own credentials")

	again := c.MustRun("demo")
	require.Contains(t, again, "created: []  seeded: []")
	require.Contains(t, again, "0 tenant(s) migrated, 3 already current")
	require.Contains(t, again, "Isolation audit PASSED", "the restored customer (its replaced database dropped) passes the audit")
	require.Contains(t, again, "acme has its rows back through its own DSN: incidents 4, systems 3, users 3", "the restore step runs again")
	bl := e2e.Decode[[]map[string]any](t, c.MustRun("backup", "list", "-o", "json"))
	require.Len(t, bl, 2, "dev up gave both servers a pgBackRest stanza")

	st := e2e.Decode[[]map[string]any](t, c.MustRun("dev", "status", "-o", "json"))
	require.Len(t, st, 3)
	require.Contains(t, c.MustRun("dev", "status"), "tenantctl warehouse dsn", "dev status says how to reach the warehouse")
	wh := strings.TrimSpace(c.MustRun("warehouse", "dsn"))
	conn, err := pgx.Connect(context.Background(), wh)
	require.NoError(t, err, "the warehouse is one command away")
	var n int
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM tenantctl.tenants`).Scan(&n))
	require.Equal(t, 3, n)
	conn.Close(context.Background())
	down := c.MustRun("dev", "down", "--purge")
	purged = true
	for _, p := range []string{dataDir, filepath.Join(project, ".tenantctl", "dev"), cfg, filepath.Join(project, ".tenantctl", "tenant-migrations")} {
		require.Contains(t, down, "  "+p+"\n", "dev down --purge says what it removed")
		require.NoFileExists(t, p)
		require.NoDirExists(t, p)
	}
	require.NoDirExists(t, filepath.Join(project, ".tenantctl"), "nothing is left behind")

	help := c.MustRun("demo", "--help")
	for _, step := range []string{"dev up", "three customer tenants", "schema change", "warehouse", "isolation audit", "--dir", "--servers"} {
		require.Contains(t, help, step)
	}
}
