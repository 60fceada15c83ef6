package audit

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/tenantdb"
)

// warehouseObjectsQuery lists every privilege PUBLIC, a role named like a tenant's or
// an MSP access role holds on a non-system schema, table, view or sequence of the
// warehouse (NULL access lists give such roles nothing, except PUBLIC on schema public
// of databases created before PostgreSQL 15, which the query reads from acldefault).
const warehouseObjectsQuery = `
WITH sys AS (
    SELECT array_agg(oid) AS oids FROM pg_namespace
    WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast') OR nspname ~ '^pg_(toast_)?temp_'
), objs AS (
    SELECT 'schema' AS kind, quote_ident(n.nspname) AS obj, n.nspacl AS acl FROM pg_namespace n, sys WHERE n.oid <> ALL (sys.oids)
  UNION ALL
    SELECT CASE WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END, c.oid::regclass::text, c.relacl
    FROM pg_class c, sys WHERE c.relnamespace <> ALL (sys.oids) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
)
SELECT o.kind || ' ' || o.obj, CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END,
       string_agg(x.privilege_type, ', ' ORDER BY x.privilege_type)
FROM objs o CROSS JOIN LATERAL aclexplode(o.acl) x
WHERE o.acl IS NOT NULL
  AND (x.grantee = 0 OR starts_with(pg_get_userbyid(x.grantee), $1) OR starts_with(pg_get_userbyid(x.grantee), $2))
GROUP BY o.kind, o.obj, x.grantee ORDER BY 1, 2`

// checkWarehouseObjects reads, on the warehouse connection the database-level checks
// used, who holds privileges on the warehouse's schemas, tables and sequences: PUBLIC
// or any tenant or MSP access role there is a violation.
func (a *auditor) checkWarehouseObjects(ctx context.Context, conn *pgx.Conn, db string) {
	a.col.evaluated(CheckWarehouseObjects, "")
	rows, err := conn.Query(ctx, warehouseObjectsQuery, tenantdb.Prefix, tenantdb.AccessPrefix)
	if err == nil {
		defer rows.Close()
		for rows.Next() {
			var obj, grantee, privs string
			if err = rows.Scan(&obj, &grantee, &privs); err != nil {
				break
			}
			slug, sev, who := "", Critical, grantee
			if t, ok := a.roleTenant(grantee); ok {
				slug, who = t.Slug, grantee+" (tenant "+t.Slug+")"
			} else if grantee != "PUBLIC" {
				sev, who = High, grantee+" ("+a.tenantOfName(grantee)+")"
			}
			if a.inScope(slug) {
				a.col.violation(CheckWarehouseObjects, sev, slug, warehouseServer, "in the warehouse database %s, %s holds %s on %s", db, who, privs, obj)
			}
		}
		if err == nil {
			err = rows.Err()
		}
	}
	if err != nil {
		a.col.violation(CheckWarehouseReachable, "", "", warehouseServer, "the warehouse's schemas and tables cannot be inspected: %v", err)
	}
}
