package tenantdb

import (
	"context"

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
// tenant database already open (the one that fingerprinted the fresh clone).
func (s *Server) AdoptAndHardenOn(ctx context.Context, conn *pgx.Conn, id, domain string) error {
	return s.adoptAndHarden(ctx, conn, id, domain)
}
