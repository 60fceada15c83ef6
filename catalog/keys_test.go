package catalog_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/secret"
)

func newKey(t *testing.T) *secret.Box {
	t.Helper()
	box, err := secret.LoadKey("", secret.GenerateKey())
	require.NoError(t, err)
	return box
}

// fill stores one value in every sealed column: two servers, a warehouse, tenant
// credentials (current and pending) and an access grant.
func fill(t *testing.T, s *catalog.Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	want := map[string]string{}
	for _, name := range []string{"pg-a", "pg-b"} {
		dsn := "postgres://admin:pw-" + name + "-0123456789@10.0.0.1:5432/postgres"
		require.NoError(t, s.AddServer(ctx, catalog.Server{Name: name, Host: "10.0.0.1", Port: 5432, AdminRole: "admin",
			VersionNum: 150000, Capacity: 10}, dsn))
		want["server/"+name] = dsn
	}
	wdsn := "postgres://wh:pw-warehouse-0123456789@10.0.0.2:5432/warehouse"
	require.NoError(t, s.RegisterWarehouse(ctx, catalog.Warehouse{Host: "10.0.0.2", Port: 5432, Database: "warehouse"}, wdsn))
	want["warehouse"] = wdsn
	for i := range 3 {
		id := fmt.Sprintf("abcdefgh%c%c", 'a'+i, 'a'+i)
		require.NoError(t, s.InsertTenant(ctx, catalog.Tenant{ID: id, Slug: "tenant-" + strconv.Itoa(i), Name: "T",
			Domain: "t" + strconv.Itoa(i) + ".example", Server: "pg-a"}))
		for _, role := range []string{"app", "app_pending"} {
			pw := "pw-" + id + "-" + role
			require.NoError(t, s.SetCredential(ctx, id, role, pw))
			want["cred/"+id+"/"+role] = pw
		}
	}
	require.NoError(t, s.PutAccessGrant(ctx, catalog.AccessGrant{TenantID: "abcdefghaa", Slug: "tenant-0", Login: "alice",
		Role: "msp_alice_abcdefghaa", Level: "read"}, "pw-access-alice-0123"))
	want["access/abcdefghaa/alice"] = "pw-access-alice-0123"
	return want
}

// readAll opens every value of fill with the store's key.
func readAll(t *testing.T, s *catalog.Store, want map[string]string) error {
	t.Helper()
	ctx := context.Background()
	for k, v := range want {
		var got string
		var err error
		parts := strings.Split(k, "/")
		switch parts[0] {
		case "server":
			got, err = s.ServerDSN(ctx, parts[1])
		case "warehouse":
			got, err = s.WarehouseDSN(ctx)
		case "cred":
			got, err = s.Credential(ctx, parts[1], parts[2])
		case "access":
			got, err = s.AccessPassword(ctx, parts[1], parts[2])
		}
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		require.Equal(t, v, got, k)
	}
	return nil
}

// sealedIDs returns the key id of every sealed value in the catalog.
func sealedIDs(t *testing.T, s *catalog.Store) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, c := range catalog.SealedColumns {
		rows, err := s.Pool().Query(context.Background(), fmt.Sprintf("SELECT %s FROM %s", c.Column, c.Table))
		require.NoError(t, err)
		for rows.Next() {
			var v []byte
			require.NoError(t, rows.Scan(&v))
			id, ok := secret.SealedKeyID(v)
			require.True(t, ok, "every value carries a key id")
			ids[id]++
		}
		require.NoError(t, rows.Err())
	}
	return ids
}

func TestRotateKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	want := fill(t, b.store)
	total := len(want)
	require.Equal(t, map[string]int{b.box.KeyID(): total}, sealedIDs(t, b.store))

	// A process that keeps the old key open across the rotation.
	stale, err := catalog.Open(ctx, b.dsn, b.box)
	require.NoError(t, err)
	defer stale.Close()

	next := newKey(t)
	res, err := b.store.RotateKey(ctx, b.box, next, catalog.RotateKeyHooks{})
	require.NoError(t, err)
	require.False(t, res.AlreadyRotated)
	require.Equal(t, next.KeyID(), res.ToKeyID)
	require.Equal(t, 2, res.Resealed["servers.dsn_sealed"])
	require.Equal(t, 6, res.Resealed["credentials.secret_sealed"])
	require.Equal(t, map[string]int{next.KeyID(): total}, sealedIDs(t, b.store))

	// The new key opens everything; the old key is refused on open, naming the ids.
	fresh, err := catalog.Open(ctx, b.dsn, next)
	require.NoError(t, err)
	defer fresh.Close()
	require.NoError(t, readAll(t, fresh, want))
	require.NoError(t, readAll(t, b.store, want), "the rotating store switched to the new key")
	_, err = catalog.Open(ctx, b.dsn, b.box)
	var wrong *catalog.WrongKeyError
	require.ErrorAs(t, err, &wrong)
	require.Equal(t, next.KeyID(), wrong.Want)

	// The stale process can neither read nor write with the old key.
	_, err = stale.Credential(ctx, "abcdefghaa", "app")
	require.ErrorIs(t, err, secret.ErrWrongKey)
	err = stale.SetCredential(ctx, "abcdefghaa", "app", "written-with-the-old-key")
	require.ErrorIs(t, err, secret.ErrWrongKey, "the catalog refuses a value sealed with the old key")
	got, err := fresh.Credential(ctx, "abcdefghaa", "app")
	require.NoError(t, err)
	require.Equal(t, want["cred/abcdefghaa/app"], got, "nothing was overwritten")

	// A rerun (old key still configured) reports the rotation done and changes nothing.
	res, err = b.store.RotateKey(ctx, b.box, next, catalog.RotateKeyHooks{})
	require.NoError(t, err)
	require.True(t, res.AlreadyRotated)
	_, err = b.store.RotateKey(ctx, next, next, catalog.RotateKeyHooks{})
	require.ErrorIs(t, err, catalog.ErrSameKey)
	_, err = b.store.RotateKey(ctx, newKey(t), newKey(t), catalog.RotateKeyHooks{})
	require.ErrorIs(t, err, secret.ErrWrongKey, "neither key is the catalog's")
}

// TestRotateKeyUnsealable: a value the current key cannot open stops the rotation before
// anything changes.
func TestRotateKeyUnsealable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	want := fill(t, b.store)
	// Move one sealed value to another row: it no longer opens there.
	_, err := b.store.Pool().Exec(ctx, `UPDATE credentials SET secret_sealed = (SELECT secret_sealed FROM credentials
		WHERE tenant_id = 'abcdefghaa' AND role = 'app') WHERE tenant_id = 'abcdefghbb' AND role = 'app'`)
	require.NoError(t, err)
	_, err = b.store.RotateKey(ctx, b.box, newKey(t), catalog.RotateKeyHooks{})
	var bad *catalog.UnsealableError
	require.ErrorAs(t, err, &bad)
	require.Equal(t, []string{"abcdefghbb", "app"}, bad.Row)
	require.Equal(t, map[string]int{b.box.KeyID(): len(want)}, sealedIDs(t, b.store), "nothing was re-sealed")
}

// TestSealedColumnsCovered: every sealed column of the catalog schema is re-sealed by a
// rotation and guarded against stale keys.
func TestSealedColumnsCovered(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rows, err := b.store.Pool().Query(context.Background(), `
		SELECT c.table_name, c.column_name,
		       EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = format('%I', c.table_name)::regclass
		               AND g.tgfoid = 'sealed_key_guard'::regproc AND NOT g.tgisinternal)
		FROM information_schema.columns c
		WHERE c.table_schema = 'public' AND c.column_name LIKE '%\_sealed' ORDER BY 1, 2`)
	require.NoError(t, err)
	registered := map[string]bool{}
	for _, c := range catalog.SealedColumns {
		registered[c.Table+"."+c.Column] = true
	}
	n := 0
	for rows.Next() {
		var table, column string
		var guarded bool
		require.NoError(t, rows.Scan(&table, &column, &guarded))
		require.True(t, registered[table+"."+column], "%s.%s is not in catalog.SealedColumns: key rotation would skip it", table, column)
		require.True(t, guarded, "%s has no sealed_key_guard trigger", table)
		n++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, len(catalog.SealedColumns), n)
}

// TestRotateKeyKilledConverges kills a rotation with SIGKILL in the middle of re-sealing
// and right after it committed; each time the catalog is wholly under one key and a
// rerun finishes the job.
func TestRotateKeyKilledConverges(t *testing.T) {
	t.Parallel()
	for _, at := range []string{"reseal:4", "commit"} {
		t.Run(at, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := context.Background()
			want := fill(t, b.store)
			next := secret.GenerateKey()
			nextBox, err := secret.LoadKey("", next)
			require.NoError(t, err)

			cmd := exec.Command(os.Args[0], "-test.run=^TestRotateKeyHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), "ROTATE_HELPER_DSN="+b.dsn, "ROTATE_HELPER_FROM="+b.key,
				"ROTATE_HELPER_TO="+next, "ROTATE_HELPER_STOP="+at)
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			stopped := make(chan string, 1)
			var out strings.Builder
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					if strings.HasPrefix(sc.Text(), "STOPPED") {
						stopped <- sc.Text()
						return
					}
					out.WriteString(sc.Text() + "\n")
				}
				close(stopped)
			}()
			select {
			case line, ok := <-stopped:
				if !ok {
					_ = cmd.Wait()
					t.Fatalf("the helper ended without reaching %s:\n%s%s", at, out.String(), stderr.String())
				}
				t.Log(line)
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("the helper did not reach its stop point")
			}
			require.NoError(t, cmd.Process.Kill())
			err = cmd.Wait()
			var exitErr *exec.ExitError
			require.True(t, errors.As(err, &exitErr))

			ids := sealedIDs(t, b.store)
			require.Len(t, ids, 1, "never a mix of keys: %v", ids)
			if at == "commit" {
				require.Contains(t, ids, nextBox.KeyID())
			} else {
				require.Contains(t, ids, b.box.KeyID(), "a rotation killed mid-way changed nothing")
			}

			// Rerun with the old key still configured: it finishes or reports it done.
			old, err := secret.LoadKey("", b.key)
			require.NoError(t, err)
			res, err := b.store.RotateKey(ctx, old, nextBox, catalog.RotateKeyHooks{})
			require.NoError(t, err)
			require.Equal(t, at == "commit", res.AlreadyRotated)
			require.Equal(t, map[string]int{nextBox.KeyID(): len(want)}, sealedIDs(t, b.store))
			s, err := catalog.Open(ctx, b.dsn, nextBox)
			require.NoError(t, err)
			defer s.Close()
			require.NoError(t, readAll(t, s, want))
		})
	}
}

// TestRotateKeyHelper is the process TestRotateKeyKilledConverges kills.
func TestRotateKeyHelper(t *testing.T) {
	dsn := os.Getenv("ROTATE_HELPER_DSN")
	if dsn == "" {
		return // only meaningful as the helper process
	}
	ctx := context.Background()
	from, err := secret.LoadKey("", os.Getenv("ROTATE_HELPER_FROM"))
	require.NoError(t, err)
	to, err := secret.LoadKey("", os.Getenv("ROTATE_HELPER_TO"))
	require.NoError(t, err)
	s, err := catalog.Open(ctx, dsn, from)
	require.NoError(t, err)
	stop := os.Getenv("ROTATE_HELPER_STOP")
	wait := func(what string) {
		fmt.Println("STOPPED " + what)
		select {} // until killed
	}
	_, err = s.RotateKey(ctx, from, to, catalog.RotateKeyHooks{
		AfterReseal: func(n int) {
			if stop == "reseal:"+strconv.Itoa(n) {
				wait(stop)
			}
		},
		AfterCommit: func() {
			if stop == "commit" {
				wait(stop)
			}
		},
	})
	require.NoError(t, err)
}

// TestResetLostKey: with the key lost, an operator adopts a new one by giving the
// servers' and the warehouse's DSNs again; tenant and access passwords are erased.
func TestResetLostKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	want := fill(t, b.store)
	lost, err := catalog.Open(ctx, b.dsn, nil) // the key is gone: open without one
	require.NoError(t, err)
	defer lost.Close()
	next := newKey(t)

	_, err = lost.ResetKey(ctx, b.box, catalog.ResetKeyOptions{})
	require.ErrorIs(t, err, catalog.ErrKeyStillValid, "a key that opens the catalog is not lost")
	_, err = lost.ResetKey(ctx, next, catalog.ResetKeyOptions{ServerDSNs: map[string]string{"pg-a": want["server/pg-a"]}})
	require.ErrorIs(t, err, catalog.ErrMissingSecrets)
	require.ErrorContains(t, err, "server pg-b, the warehouse")
	_, err = catalog.Open(ctx, b.dsn, next)
	require.ErrorIs(t, err, secret.ErrWrongKey, "a refused reset changed nothing")

	res, err := lost.ResetKey(ctx, next, catalog.ResetKeyOptions{
		ServerDSNs:   map[string]string{"pg-a": want["server/pg-a"], "pg-b": want["server/pg-b"]},
		WarehouseDSN: want["warehouse"],
	})
	require.NoError(t, err)
	require.Equal(t, 2, res.Servers)
	require.Equal(t, 6, res.CredentialsErased)
	require.Equal(t, 1, res.GrantsErased)
	s, err := catalog.Open(ctx, b.dsn, next)
	require.NoError(t, err)
	defer s.Close()
	got, err := s.ServerDSN(ctx, "pg-b")
	require.NoError(t, err)
	require.Equal(t, want["server/pg-b"], got)
	got, err = s.WarehouseDSN(ctx)
	require.NoError(t, err)
	require.Equal(t, want["warehouse"], got)
	_, err = s.Credential(ctx, "abcdefghaa", "app")
	require.ErrorIs(t, err, catalog.ErrNoCredential)
	require.NoError(t, s.SetCredential(ctx, "abcdefghaa", "app", "reissued-password"), "new passwords are sealed under the new key")
	_, err = catalog.Open(ctx, b.dsn, b.box)
	require.ErrorIs(t, err, secret.ErrWrongKey)
}
