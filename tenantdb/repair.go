package tenantdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// RevokeDatabaseGrants removes every privilege the given roles hold on the tenant
// database (drift someone added by hand).
func (s *Server) RevokeDatabaseGrants(ctx context.Context, id string, roles []string) error {
	if len(roles) == 0 {
		return nil
	}
	conn, err := s.Connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// The database's access list is the owner's to change: one transaction in which the
	// admin is a member of the owner.
	return s.withMembership(ctx, conn, []string{OwnerRole(id)}, func(tx pgx.Tx) error {
		for _, r := range roles {
			grantee := ident(r)
			if r == "PUBLIC" {
				grantee = "PUBLIC"
			}
			if _, err := tx.Exec(ctx, "REVOKE ALL ON DATABASE "+ident(Database(id))+" FROM "+grantee); err != nil {
				return fmt.Errorf("revoke %s's privileges on %s: %w", r, Database(id), err)
			}
		}
		return nil
	})
}
