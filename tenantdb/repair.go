package tenantdb

import (
	"context"
	"fmt"
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
	for _, r := range roles {
		grantee := ident(r)
		if r == "PUBLIC" {
			grantee = "PUBLIC"
		}
		if _, err := conn.Exec(ctx, "REVOKE ALL ON DATABASE "+ident(Database(id))+" FROM "+grantee); err != nil {
			return fmt.Errorf("revoke %s's privileges on %s: %w", r, Database(id), err)
		}
	}
	return nil
}
