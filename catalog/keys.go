package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/secret"
)

// The key check: a value sealed with the catalog's key under keyCheckLabel, kept in meta,
// tells a wrong key apart before it is used. meta 'key_id' holds the id of that key, which
// the sealed_key_guard trigger compares with every sealed value written.
const (
	keyCheckLabel = "meta/key_check"
	keyCheckProbe = "tenantctl key check"
)

// sqlstateStaleKey is raised by the sealed_key_guard trigger (migration 00010) when a
// value sealed with a key other than the catalog's current one is written.
const sqlstateStaleKey = "TK001"

// SealedColumn is one catalog column that holds values sealed with the operator's key.
// [Store.RotateKey] re-seals every row of every column listed in [SealedColumns].
type SealedColumn struct {
	Table, Column string
	// Key names the columns that identify a row; Label builds the row's sealing label
	// from their values (as text), the same label the writer used.
	Key   []string
	Label func(key []string) string
}

// SealedColumns lists every sealed column of the catalog. A new sealed column must be
// added here and given the sealed_key_guard trigger; a test fails otherwise.
var SealedColumns = []SealedColumn{
	{Table: "servers", Column: "dsn_sealed", Key: []string{"name"},
		Label: func(k []string) string { return serverLabel(k[0]) }},
	{Table: "credentials", Column: "secret_sealed", Key: []string{"tenant_id", "role"},
		Label: func(k []string) string { return credentialLabel(k[0], k[1]) }},
	{Table: "warehouse", Column: "dsn_sealed", Key: []string{"id"},
		Label: func([]string) string { return warehouseLabel }},
	{Table: "access_grants", Column: "secret_sealed", Key: []string{"tenant_id", "login"},
		Label: func(k []string) string { return accessLabel(k[0], k[1]) }},
}

// Box returns the key that seals credentials, after checking once that it is the key the
// catalog uses. The first caller with a key records the check value and the key's id.
// A wrong key is an error matching [secret.ErrWrongKey] that names both key ids.
func (s *Store) Box(ctx context.Context) (*secret.Box, error) {
	if s.box == nil {
		return nil, secret.ErrNoKey
	}
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.keyValid {
		return s.box, nil
	}
	if err := checkKey(ctx, s.pool, s.box, true); err != nil {
		return nil, err
	}
	s.keyValid = true
	return s.box, nil
}

// checkKey verifies box against the catalog's check value; record writes the check value
// and the key id when the catalog has none yet (a new catalog, or one from before key ids).
func checkKey(ctx context.Context, db DBTX, box *secret.Box, record bool) error {
	if record {
		if _, err := db.Exec(ctx, `INSERT INTO meta (key, value) VALUES ('key_check', $1) ON CONFLICT (key) DO NOTHING`,
			box.SealString(keyCheckProbe, keyCheckLabel)); err != nil {
			return fmt.Errorf("record key check: %w", err)
		}
	}
	var sealed []byte
	if err := db.QueryRow(ctx, `SELECT value FROM meta WHERE key = 'key_check'`).Scan(&sealed); err != nil {
		return fmt.Errorf("read key check: %w", err)
	}
	if got, err := box.Open(sealed, keyCheckLabel); err != nil || string(got) != keyCheckProbe {
		return wrongKey(box, sealed)
	}
	if record {
		// Only a key that opened the check value may record its id.
		if _, err := db.Exec(ctx, `INSERT INTO meta (key, value) VALUES ('key_id', $1) ON CONFLICT (key) DO NOTHING`,
			box.KeyIDBytes()); err != nil {
			return fmt.Errorf("record key id: %w", err)
		}
	}
	return nil
}

// WrongKeyError is returned when a key is not the catalog's. It matches
// [secret.ErrWrongKey].
type WrongKeyError struct {
	// Key is the id of the key given; Want the id of the catalog's key ("" when the
	// catalog's check value predates key ids).
	Key, Want string
}

func (e *WrongKeyError) Error() string {
	msg := fmt.Sprintf("the secret key (id %s) is not this catalog's key", e.Key)
	if e.Want != "" {
		msg += fmt.Sprintf(" (id %s)", e.Want)
	}
	return msg + ": use the key the catalog was initialised or last rotated with"
}

// Is makes a WrongKeyError match secret.ErrWrongKey.
func (e *WrongKeyError) Is(target error) bool { return target == secret.ErrWrongKey }

func wrongKey(box *secret.Box, sealed []byte) error {
	want, _ := secret.SealedKeyID(sealed)
	return &WrongKeyError{Key: box.KeyID(), Want: want}
}

// KeyID returns the id of the catalog's key as recorded in the catalog, or "" when no
// key has been used with it yet.
func (s *Store) KeyID(ctx context.Context) (string, error) {
	var sealed []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM meta WHERE key = 'key_check'`).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	id, _ := secret.SealedKeyID(sealed)
	return id, nil
}

// RotateKeyResult is what [Store.RotateKey] did.
type RotateKeyResult struct {
	// FromKeyID and ToKeyID are the ids of the old and the new key.
	FromKeyID string `json:"from_key_id"`
	ToKeyID   string `json:"to_key_id"`
	// Resealed counts the values re-sealed per table.column.
	Resealed map[string]int `json:"resealed"`
	// AlreadyRotated is set when the catalog was already sealed with the new key (a
	// rerun after a rotation that committed): nothing was changed.
	AlreadyRotated bool `json:"already_rotated"`
}

// RotateKeyHooks let tests stop a rotation at a chosen point.
type RotateKeyHooks struct {
	// AfterReseal runs after each value is re-sealed, inside the transaction.
	AfterReseal func(n int)
	// AfterCommit runs once the rotation committed.
	AfterCommit func()
}

// lockSealedTables makes writers of sealed values (and key checks) wait until tx ends.
func lockSealedTables(ctx context.Context, tx pgx.Tx) error {
	tables := []string{"meta"}
	for _, c := range SealedColumns {
		tables = append(tables, pgx.Identifier{c.Table}.Sanitize())
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+strings.Join(tables, ", ")+" IN SHARE ROW EXCLUSIVE MODE"); err != nil {
		return fmt.Errorf("lock sealed tables: %w", err)
	}
	return nil
}

// unseal reads the one sealed value query selects and opens it under label; no row is
// notFound.
func (s *Store) unseal(ctx context.Context, label string, notFound error, query string, args ...any) (string, error) {
	box, err := s.Box(ctx)
	if err != nil {
		return "", err
	}
	var sealed []byte
	err = s.pool.QueryRow(ctx, query, args...).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", notFound
	}
	if err != nil {
		return "", err
	}
	return box.OpenString(sealed, label)
}

// RotateKey re-seals every sealed value of the catalog, and its key check, from key
// from to key to, in one catalog transaction: a crash or kill at any instant leaves
// either everything under the old key or everything under the new one, and running it
// again finishes (or reports AlreadyRotated). While it runs, writes of sealed values wait
// for it; afterwards the catalog refuses values sealed with the old key, so a process
// still holding it fails loudly instead of storing what nobody could open.
//
// A value that does not open with from is an error naming its row, and nothing changes.
func (s *Store) RotateKey(ctx context.Context, from, to *secret.Box, hooks RotateKeyHooks) (RotateKeyResult, error) {
	res := RotateKeyResult{FromKeyID: from.KeyID(), ToKeyID: to.KeyID(), Resealed: map[string]int{}}
	if res.FromKeyID == res.ToKeyID {
		return res, ErrSameKey
	}
	n := 0
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		// Writers of sealed values (and key checks) wait until this commits; the guard
		// trigger then refuses their old-key values.
		if err := lockSealedTables(ctx, tx); err != nil {
			return err
		}
		if err := checkKey(ctx, tx, to, false); err == nil {
			res.AlreadyRotated = true
			return nil
		}
		if err := checkKey(ctx, tx, from, false); err != nil {
			return err
		}
		// The new id goes first: the guard checks every re-sealed value against it.
		if _, err := tx.Exec(ctx, `INSERT INTO meta (key, value) VALUES ('key_id', $1)
			ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`, to.KeyIDBytes()); err != nil {
			return fmt.Errorf("record new key id: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE meta SET value = $1, updated_at = now() WHERE key = 'key_check'`,
			to.SealString(keyCheckProbe, keyCheckLabel)); err != nil {
			return fmt.Errorf("re-seal key check: %w", err)
		}
		for _, c := range SealedColumns {
			k, err := reseal(ctx, tx, c, from, to, func() {
				n++
				fpRotateResealed.Hit()
				if hooks.AfterReseal != nil {
					hooks.AfterReseal(n)
				}
			})
			res.Resealed[c.Table+"."+c.Column] = k
			if err != nil {
				return err
			}
		}
		resealed := map[string]any{}
		for k, v := range res.Resealed {
			resealed[k] = v
		}
		if err := s.AppendEvent(ctx, tx, Event{Action: "secret.rotate_key", Details: map[string]any{
			"from_key_id": res.FromKeyID, "to_key_id": res.ToKeyID, "resealed": resealed,
		}}); err != nil {
			return err
		}
		fpRotateBeforeCommit.Hit()
		return nil
	})
	if err != nil {
		return res, err
	}
	if res.AlreadyRotated {
		clear(res.Resealed)
		return res, nil
	}
	fpRotateCommitted.Hit()
	if hooks.AfterCommit != nil {
		hooks.AfterCommit()
	}
	s.keyMu.Lock()
	if s.box != nil && s.box.KeyID() == res.FromKeyID {
		s.box, s.keyValid = to, false
	}
	s.keyMu.Unlock()
	return res, nil
}

// ErrSameKey is returned by [Store.RotateKey] when the new key is the current one.
var ErrSameKey = errors.New("the new key is the key the catalog already uses")

// UnsealableError is returned by [Store.RotateKey] for a stored value the old key does not
// open; the rotation changed nothing.
type UnsealableError struct {
	Table, Column string
	Row           []string
	Err           error
}

func (e *UnsealableError) Error() string {
	return fmt.Sprintf("cannot open %s.%s of row (%s) with the current key: %v", e.Table, e.Column, strings.Join(e.Row, ", "), e.Err)
}

func (e *UnsealableError) Unwrap() error { return e.Err }

func reseal(ctx context.Context, tx pgx.Tx, c SealedColumn, from, to *secret.Box, each func()) (int, error) {
	keys := make([]string, len(c.Key))
	where := make([]string, len(c.Key))
	for i, k := range c.Key {
		keys[i] = pgx.Identifier{k}.Sanitize() + "::text"
		where[i] = fmt.Sprintf("%s::text = $%d", pgx.Identifier{k}.Sanitize(), i+2)
	}
	col, table := pgx.Identifier{c.Column}.Sanitize(), pgx.Identifier{c.Table}.Sanitize()
	rows, err := tx.Query(ctx, fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s IS NOT NULL ORDER BY 1",
		strings.Join(keys, ", "), col, table, col))
	if err != nil {
		return 0, fmt.Errorf("read %s.%s: %w", c.Table, c.Column, err)
	}
	type sealedRow struct {
		key    []string
		sealed []byte
	}
	var all []sealedRow
	for rows.Next() {
		r := sealedRow{key: make([]string, len(c.Key))}
		dest := make([]any, 0, len(c.Key)+1)
		for i := range r.key {
			dest = append(dest, &r.key[i])
		}
		dest = append(dest, &r.sealed)
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return 0, err
		}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	update := fmt.Sprintf("UPDATE %s SET %s = $1 WHERE %s", table, col, strings.Join(where, " AND "))
	for i, r := range all {
		label := c.Label(r.key)
		plain, err := from.Open(r.sealed, label)
		if err != nil {
			return i, &UnsealableError{Table: c.Table, Column: c.Column, Row: r.key, Err: err}
		}
		resealed := to.Seal(plain, label)
		clear(plain)
		args := []any{resealed}
		for _, k := range r.key {
			args = append(args, k)
		}
		if _, err := tx.Exec(ctx, update, args...); err != nil {
			return i, fmt.Errorf("re-seal %s.%s: %w", c.Table, c.Column, err)
		}
		each()
	}
	return len(all), nil
}

// staleKeyError maps the guard trigger's refusal to an error matching
// [secret.ErrWrongKey]; other errors pass through.
func staleKeyError(err error, box *secret.Box) error {
	if err == nil || dbconn.SQLState(err) != sqlstateStaleKey {
		return err
	}
	return fmt.Errorf("%w: the catalog's key was rotated while this process used key id %s; restart it with the new key",
		secret.ErrWrongKey, box.KeyID())
}

// ResetKeyOptions are what [Store.ResetKey] needs to adopt a new key after the old one
// was lost: the secrets it cannot open any more, given again.
type ResetKeyOptions struct {
	// ServerDSNs holds the admin DSN of every registered server, by name.
	ServerDSNs map[string]string
	// WarehouseDSN is required when a warehouse is registered.
	WarehouseDSN string
}

// ResetKeyResult is what [Store.ResetKey] did.
type ResetKeyResult struct {
	KeyID string `json:"key_id"`
	// Servers were re-sealed with their DSNs; Warehouse too when registered.
	Servers   int  `json:"servers"`
	Warehouse bool `json:"warehouse"`
	// CredentialsErased and GrantsErased count the sealed passwords that were dropped:
	// tenants need `tenant rotate-credentials`, access grants a new `access grant`.
	CredentialsErased int `json:"credentials_erased"`
	GrantsErased      int `json:"access_grants_erased"`
	// TenantsNeedingCredentials are the slugs of live tenants whose password must be
	// reissued.
	TenantsNeedingCredentials []string `json:"tenants_needing_credentials"`
}

// ErrMissingSecrets is returned by [Store.ResetKey] when a server or the warehouse has no
// DSN in the options; nothing was changed.
var ErrMissingSecrets = errors.New("every registered server and the warehouse need their DSN")

// ResetKey makes to the catalog's key when the old key is lost: in one transaction it
// replaces the key check, re-seals every server's and the warehouse's DSN from o, and
// erases the tenant and access passwords nobody can open any more (they are reissued
// with `tenant rotate-credentials` and `access grant`). It refuses when to opens the
// catalog already (use nothing: all is well) or when a DSN is missing.
func (s *Store) ResetKey(ctx context.Context, to *secret.Box, o ResetKeyOptions) (ResetKeyResult, error) {
	res := ResetKeyResult{KeyID: to.KeyID(), TenantsNeedingCredentials: []string{}}
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if err := lockSealedTables(ctx, tx); err != nil {
			return err
		}
		if err := checkKey(ctx, tx, to, false); err == nil {
			return ErrKeyStillValid
		}
		names, err := serverNames(ctx, tx)
		if err != nil {
			return err
		}
		var missing []string
		for _, n := range names {
			if o.ServerDSNs[n] == "" {
				missing = append(missing, "server "+n)
			}
		}
		for n := range o.ServerDSNs {
			if !slices.Contains(names, n) {
				return fmt.Errorf("server %q: %w", n, ErrServerNotFound)
			}
		}
		var haveWarehouse bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM warehouse)`).Scan(&haveWarehouse); err != nil {
			return err
		}
		if haveWarehouse && o.WarehouseDSN == "" {
			missing = append(missing, "the warehouse")
		}
		if len(missing) > 0 {
			return fmt.Errorf("%w: missing %s", ErrMissingSecrets, strings.Join(missing, ", "))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM meta WHERE key IN ('key_check', 'key_id')`); err != nil {
			return err
		}
		if err := checkKey(ctx, tx, to, true); err != nil {
			return err
		}
		for _, n := range names {
			if _, err := tx.Exec(ctx, `UPDATE servers SET dsn_sealed = $2, updated_at = now() WHERE name = $1`,
				n, to.SealString(o.ServerDSNs[n], serverLabel(n))); err != nil {
				return fmt.Errorf("re-seal server %q: %w", n, err)
			}
			res.Servers++
		}
		if haveWarehouse {
			if _, err := tx.Exec(ctx, `UPDATE warehouse SET dsn_sealed = $1`, to.SealString(o.WarehouseDSN, warehouseLabel)); err != nil {
				return fmt.Errorf("re-seal warehouse: %w", err)
			}
			res.Warehouse = true
		}
		tag, err := tx.Exec(ctx, `DELETE FROM credentials`)
		if err != nil {
			return err
		}
		res.CredentialsErased = int(tag.RowsAffected())
		tag, err = tx.Exec(ctx, `DELETE FROM access_grants`)
		if err != nil {
			return err
		}
		res.GrantsErased = int(tag.RowsAffected())
		rows, err := tx.Query(ctx, `SELECT slug FROM tenants WHERE state IN ('active', 'suspended') ORDER BY slug`)
		if err != nil {
			return err
		}
		slugs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		res.TenantsNeedingCredentials = append(res.TenantsNeedingCredentials, slugs...)
		return s.AppendEvent(ctx, tx, Event{Action: "secret.reset_key", Details: map[string]any{
			"key_id": res.KeyID, "servers": res.Servers, "credentials_erased": res.CredentialsErased,
			"access_grants_erased": res.GrantsErased,
		}})
	})
	if err != nil {
		return res, err
	}
	s.keyMu.Lock()
	s.box, s.keyValid = to, false
	s.keyMu.Unlock()
	return res, nil
}

// ErrKeyStillValid is returned by [Store.ResetKey] when the key given already opens the
// catalog: there is nothing to reset.
var ErrKeyStillValid = errors.New("this key already opens the catalog: nothing to reset")
