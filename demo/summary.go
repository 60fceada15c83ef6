package demo

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// SummaryRow is one customer's line in the cross-tenant summary.
type SummaryRow struct {
	Slug          string `json:"slug"`
	Name          string `json:"name"`
	Users         int64  `json:"users"`
	Systems       int64  `json:"systems"`
	OpenIncidents int64  `json:"open_incidents"`
	Priority1     int64  `json:"priority_1_open"`
}

// SummarySQL is the cross-tenant query the demo runs on the warehouse: every rolled-up
// table carries tenant_id, and tenantctl.tenants names the customers.
const SummarySQL = `
SELECT t.slug, t.name,
       (SELECT count(*) FROM public.users u WHERE u.tenant_id = t.id) AS users,
       (SELECT count(*) FROM public.systems s WHERE s.tenant_id = t.id) AS systems,
       (SELECT count(*) FROM public.incidents i WHERE i.tenant_id = t.id AND i.status IN ('open', 'in_progress')) AS open_incidents,
       (SELECT count(*) FROM public.incidents i WHERE i.tenant_id = t.id AND i.status IN ('open', 'in_progress') AND i.priority = 1) AS p1
FROM tenantctl.tenants t
WHERE t.state IN ('active', 'suspended')
ORDER BY t.slug`

// Summary runs [SummarySQL] on the warehouse.
func Summary(ctx context.Context, warehouseDSN string) ([]SummaryRow, error) {
	conn, err := dbconn.Connect(ctx, warehouseDSN)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, SummarySQL)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (SummaryRow, error) {
		var s SummaryRow
		err := r.Scan(&s.Slug, &s.Name, &s.Users, &s.Systems, &s.OpenIncidents, &s.Priority1)
		return s, err
	})
}
