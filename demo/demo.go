// Package demo builds a small working fleet: three customer tenants spread over the
// registered servers, each filled with a little realistic service-desk data through its
// own application credentials.
//
// It only uses the public lifecycle (package provisioner) and the tenants' own
// credentials, as a real MSP application would; it never writes a tenant database as an
// administrator.
package demo

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/provisioner"
)

// Customer is one demo tenant and its seed data.
type Customer struct {
	Slug, Name, Domain string
	Users              [][2]string // local part, full name
	Systems            [][2]string // name, kind
	Incidents          []string
}

// Customers are the demo's tenants.
var Customers = []Customer{
	{"acme", "Acme Corporation", "acme.example",
		[][2]string{{"wile.e", "Wile E. Coyote"}, {"roadrunner", "Road Runner"}, {"it", "Acme IT Desk"}},
		[][2]string{{"acme-erp", "application"}, {"acme-fs01", "storage"}, {"acme-fw", "network"}},
		[]string{"ERP login fails for warehouse staff", "File server nearly full", "Firewall rule review", "Rocket skates recall portal down"}},
	{"globex", "Globex Corporation", "globex.example",
		[][2]string{{"hank", "Hank Scorpio"}, {"homer", "Homer Simpson"}},
		[][2]string{{"globex-dc1", "server"}, {"globex-vpn", "network"}},
		[]string{"VPN drops every 10 minutes", "Domain controller replication lag"}},
	{"initech", "Initech LLC", "initech.example",
		[][2]string{{"peter", "Peter Gibbons"}, {"milton", "Milton Waddams"}, {"bill", "Bill Lumbergh"}, {"michael", "Michael Bolton"}},
		[][2]string{{"tps-reports", "application"}, {"printer-2f", "other"}, {"initech-ws-17", "workstation"}},
		[]string{"PC LOAD LETTER", "TPS report cover sheets missing", "Stapler reassigned without ticket"}},
}

// Result lists what the demo did.
type Result struct {
	Created []string
	Seeded  []string
}

// Run creates every demo customer that does not exist yet and seeds the ones whose
// database is still empty. Running it again does nothing new.
func Run(ctx context.Context, p *provisioner.Provisioner) (Result, error) {
	var res Result
	for _, c := range Customers {
		t, err := p.Store.GetTenant(ctx, c.Slug)
		if errors.Is(err, catalog.ErrTenantNotFound) || (err == nil && (t.State == catalog.StateProvisioning || t.State == catalog.StateFailed)) {
			if t, err = p.Create(ctx, provisioner.CreateOptions{Slug: c.Slug, Name: c.Name, Domain: c.Domain}); err != nil {
				return res, err
			}
			res.Created = append(res.Created, c.Slug)
		} else if err != nil {
			return res, err
		}
		if t.State != catalog.StateActive {
			continue
		}
		seeded, err := seed(ctx, p, c)
		if err != nil {
			return res, fmt.Errorf("seed %s: %w", c.Slug, err)
		}
		if seeded {
			res.Seeded = append(res.Seeded, c.Slug)
		}
	}
	return res, nil
}

// seed fills an empty tenant database through the tenant's own credentials.
func seed(ctx context.Context, p *provisioner.Provisioner, c Customer) (bool, error) {
	dsn, err := p.AppDSN(ctx, c.Slug)
	if err != nil {
		return false, err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	var userIDs, systemIDs []int64
	for i, u := range c.Users {
		role := "member"
		if i == 0 {
			role = "admin"
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO users (email, full_name, role) VALUES ($1, $2, $3) RETURNING id`,
			u[0]+"@"+c.Domain, u[1], role).Scan(&id); err != nil {
			return false, err
		}
		userIDs = append(userIDs, id)
	}
	for i, s := range c.Systems {
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO systems (name, kind, serial, owner_id) VALUES ($1, $2, $3, $4) RETURNING id`,
			s[0], s[1], fmt.Sprintf("SN-%s-%03d", c.Slug, i+1), userIDs[i%len(userIDs)]).Scan(&id); err != nil {
			return false, err
		}
		systemIDs = append(systemIDs, id)
	}
	for i, title := range c.Incidents {
		status := []string{"open", "in_progress", "resolved"}[i%3]
		if _, err := tx.Exec(ctx, `INSERT INTO incidents (title, status, priority, reporter_id, system_id, resolved_at)
			VALUES ($1, $2, $3, $4, $5, CASE WHEN $2 = 'resolved' THEN now() END)`,
			title, status, 1+i%4, userIDs[i%len(userIDs)], systemIDs[i%len(systemIDs)]); err != nil {
			return false, err
		}
	}
	return true, tx.Commit(ctx)
}
