package tenantdb

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// terminateWait bounds how long terminate waits for the sessions it signalled to end.
const terminateWait = 10 * time.Second

// terminate ends every session of role and waits until they are gone.
//
// pg_terminate_backend only sends a signal: the session ends a moment later. A role
// dropped in that moment leaves a session that belongs to no role any more, and a
// least-privilege admin may only signal sessions of roles it is a member of: the next
// DROP DATABASE … WITH (FORCE) on that database (or a terminate that meets the session)
// then fails with "must be a member of the role whose process is being terminated"
// (seen as a rare failure of a purge after an access revoke, and of a move; an
// autovacuum worker in the database is the other cause, see dropDatabase). So every
// caller that drops a role afterwards gets only a role without sessions. A session that
// ends between the scan and the signal (its pid reused by another backend) fails the
// same way: the scan simply runs again.
func terminate(ctx context.Context, conn *pgx.Conn, role string) error {
	deadline := time.Now().Add(terminateWait)
	for {
		var found int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE usename = $1 AND pid <> pg_backend_pid()) x`, role).Scan(&found)
		if err == nil && found == 0 {
			return nil
		}
		if err != nil && !dbconn.HasCode(err, pgerrcode.InsufficientPrivilege) {
			return fmt.Errorf("terminate sessions of %s: %w", role, err)
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%d session(s) still open after %s", found, terminateWait)
			}
			return fmt.Errorf("terminate sessions of %s: %w", role, err)
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
