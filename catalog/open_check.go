package catalog

import (
	"context"
	"fmt"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/secret"
)

// openCheck does what [Open] must before a command runs — the catalog is initialised
// and box is its key — in one round trip (one simple-protocol query) when the catalog
// already records its key check and key id, which is every time but the first. It
// reports done=false when the long way must run (a catalog without meta, or without
// its key records yet); keyOK says box was checked.
func openCheck(ctx context.Context, pool *pgxpool.Pool, box *secret.Box) (done, keyOK bool, err error) {
	var ok bool
	var check, id []byte
	err = pool.QueryRow(ctx, `SELECT to_regclass('public.tenants') IS NOT NULL AND to_regclass('public.meta') IS NOT NULL,
		(SELECT value FROM meta WHERE key = 'key_check'), (SELECT value FROM meta WHERE key = 'key_id')`,
		pgx.QueryExecModeSimpleProtocol).Scan(&ok, &check, &id)
	switch {
	case dbconn.HasCode(err, pgerrcode.UndefinedTable):
		return false, false, nil // no meta table: the long way says what is missing
	case err != nil:
		if cerr := dbconn.PoolConnectError(pool, err); cerr != nil {
			// The login failed: said as the pool's ping used to say it.
			err = cerr
		}
		return false, false, fmt.Errorf("open catalog: %w", err)
	case !ok:
		return true, false, ErrNotInitialized
	case box == nil:
		return true, false, nil
	case check == nil || id == nil:
		return false, false, nil // the first key use records them
	}
	if got, err := box.Open(check, keyCheckLabel); err != nil || string(got) != keyCheckProbe {
		return true, false, wrongKey(box, check)
	}
	return true, true, nil
}
