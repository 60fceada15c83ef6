package tenantdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// AdoptAndHarden does what [Server.AdoptObjects] then [Server.Harden] do, on one
// connection to the tenant database and in one transaction instead of two: a fresh
// clone's objects are handed to the tenant's owner, then its access rules are applied,
// and the customer's domain written ([Server.SetDomain]) when domain is not empty. `tenant create` without a spare calls it right after the clone,
// so one login to the new database is left on its critical path.
func (s *Server) AdoptAndHarden(ctx context.Context, id, domain string) error {
	conn, err := s.connectTenant(ctx, id)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return s.adoptAndHarden(ctx, conn, id, domain)
}

// AdoptAndHardenOn is [Server.AdoptAndHarden] on conn, an admin connection to the
// tenant database already open (the one that checked the fresh clone), for a clone made
// by [Server.CloneDatabase]: the same transaction first hands the database to its
// owner, as [Server.CreateDatabase] does in a transaction of its own (PUBLIC's rights
// revoked, the owner set, the admin's CONNECT granted). The kill point after that
// hand-over is reached inside the transaction: killed there, nothing is left, and the
// rerun does it all.
func (s *Server) AdoptAndHardenOn(ctx context.Context, conn *pgx.Conn, id, domain string) error {
	return s.withMembership(ctx, conn, []string{OwnerRole(id)}, func(tx pgx.Tx) error {
		if _, err := tx.Conn().PgConn().Exec(ctx, s.handOverStmts(id)).ReadAll(); err != nil {
			return fmt.Errorf("hand database %s to its owner: %w", Database(id), err)
		}
		fpDatabaseRevoked.Hit()
		return s.adoptAndHardenTx(ctx, tx, id, domain)
	})
}
