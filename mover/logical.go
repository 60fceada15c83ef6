package mover

import (
	"context"
	"fmt"

	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// LogicalCapability is what a server allows for logical replication.
type LogicalCapability struct {
	Server     string
	VersionNum int
	Superuser  bool
	// CreateSubscription: the admin holds pg_create_subscription (PostgreSQL 16+).
	CreateSubscription bool
	// WalLevelLogical: wal_level is logical (needed on the source).
	WalLevelLogical bool
}

// Allowed reports whether the admin may create a subscription on this server.
func (c LogicalCapability) Allowed() bool {
	return c.Superuser || (c.VersionNum >= 160000 && c.CreateSubscription)
}

// CheckLogical reads a server's logical replication capability through its admin role.
func CheckLogical(ctx context.Context, srv *tenantdb.Server) (LogicalCapability, error) {
	c := LogicalCapability{Server: srv.Name}
	conn, err := srv.Connect(ctx, "postgres")
	if err != nil {
		return c, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	err = conn.QueryRow(ctx, `
		SELECT current_setting('server_version_num')::int, r.rolsuper,
		       EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname = 'pg_create_subscription' AND pg_has_role(current_user, g.oid, 'USAGE')),
		       current_setting('wal_level') = 'logical'
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&c.VersionNum, &c.Superuser, &c.CreateSubscription, &c.WalLevelLogical)
	if err != nil {
		return c, fmt.Errorf("check logical replication on %s: %w", srv.Name, err)
	}
	return c, nil
}

// checkLogical refuses method logical unless both servers allow it. The logical path
// itself (initial copy and catch-up by a subscription, then a short cut-over) is not
// implemented yet: where the servers allow it, the refusal says so.
func (m *Mover) checkLogical(ctx context.Context, src, dst *tenantdb.Server) error {
	for _, s := range []*tenantdb.Server{src, dst} {
		c, err := CheckLogical(ctx, s)
		if err != nil {
			return err
		}
		if !c.Allowed() {
			return validate.Invalid(fmt.Errorf("server %s (PostgreSQL %d, admin %s, superuser %v, pg_create_subscription %v): %w; use method dump",
				s.Name, c.VersionNum/10000, s.AdminRole(), c.Superuser, c.CreateSubscription, ErrLogicalUnsupported))
		}
		if s == src && !c.WalLevelLogical {
			return validate.Errorf("server %s has wal_level other than logical: method logical needs wal_level = logical on the source; use method dump", s.Name)
		}
	}
	return validate.Errorf("method logical is allowed by these servers but not implemented in this tenantctl yet; use method dump")
}
