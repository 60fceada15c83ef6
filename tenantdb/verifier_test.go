package tenantdb

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/localpg"
	"github.com/tenantctl/tenantctl/secret"
)

// The owner role's generated password is stored with one PBKDF2 iteration (only
// tenantctl and libpq log in as the owner), the app role's with PostgreSQL's 4,096
// (customer applications' client libraries may refuse fewer). Both log in, through
// pgx and through libpq's psql, with the password and with nothing else; a rotated
// owner password keeps the one iteration.
func TestOwnerVerifierIsAKeyAppVerifierIsDefault(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	ctx := context.Background()
	super := pgtest.Get(t).Servers[0]
	id := NewID()
	app, owner := secret.NewPassword(), secret.NewPassword()
	require.NoError(t, srv.EnsureRoles(ctx, id, app, owner, true))
	require.NoError(t, srv.CreateDatabase(ctx, id, ""))
	require.NoError(t, srv.Harden(ctx, id))
	t.Cleanup(func() {
		_ = srv.DropDatabase(context.Background(), id)
		_ = srv.DropRoles(context.Background(), id)
	})
	watch := super.Conn(t, "postgres")
	defer watch.Close(ctx)
	iterations := func(role string) string {
		var v string
		require.NoError(t, watch.QueryRow(ctx, `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, role).Scan(&v))
		head, _, _ := strings.Cut(v, ":")
		return head
	}
	require.Equal(t, fmt.Sprintf("SCRAM-SHA-256$%d", secret.KeyIterations), iterations(OwnerRole(id)))
	require.Equal(t, "SCRAM-SHA-256$4096", iterations(AppRole(id)))

	login := func(role, pw string) error { return loginAs(t, super, Database(id), role, pw) }
	psql := func(role, pw string) error {
		cfg, err := pgx.ParseConfig(super.SuperDSN(Database(id)))
		require.NoError(t, err)
		dir, err := localpg.FindBinDir()
		require.NoError(t, err)
		cmd := exec.CommandContext(ctx, filepath.Join(dir, "psql"), "-X", "-At", "-h", cfg.Host, "-p", fmt.Sprint(cfg.Port),
			"-U", role, "-d", Database(id), "-c", "SELECT current_user")
		cmd.Env = append(cmd.Environ(), "PGPASSWORD="+pw, "PGSSLMODE=disable")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		require.Equal(t, role, strings.TrimSpace(string(out)))
		return nil
	}
	for _, c := range []struct{ role, pw string }{{OwnerRole(id), owner}, {AppRole(id), app}} {
		require.NoError(t, login(c.role, c.pw), c.role)
		require.NoError(t, psql(c.role, c.pw), c.role)
		require.Error(t, login(c.role, secret.NewPassword()), "%s: another password is refused", c.role)
		require.Error(t, psql(c.role, c.pw[:len(c.pw)-1]), "%s: a truncated password is refused", c.role)
	}

	next := secret.NewPassword()
	require.NoError(t, srv.SetOwnerPassword(ctx, id, next))
	require.Equal(t, fmt.Sprintf("SCRAM-SHA-256$%d", secret.KeyIterations), iterations(OwnerRole(id)))
	require.NoError(t, login(OwnerRole(id), next))
	require.Error(t, login(OwnerRole(id), owner), "the old owner password no longer logs in")
	require.NoError(t, srv.SetAppPassword(ctx, id, next))
	require.Equal(t, "SCRAM-SHA-256$4096", iterations(AppRole(id)))
}
