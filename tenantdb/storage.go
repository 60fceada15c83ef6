package tenantdb

import "github.com/jackc/pgx/v5"

// LargeObject is a large object whose access list grants something to a role other
// than its owner (PUBLIC included): whoever holds it reads the object with lo_get.
type LargeObject struct {
	OID   uint32
	Owner string
	// Grants are "grantee PRIVILEGE" ("PUBLIC SELECT").
	Grants []string
}

// MaxLargeObjects bounds the large objects one inspection lists.
const MaxLargeObjects = 20

// largeObjectsQuery lists the large objects shared beyond their owner (at most
// MaxLargeObjects+1, to tell that there are more).
const largeObjectsQuery = `
SELECT l.oid, pg_get_userbyid(l.lomowner),
       array_agg(CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END || ' ' || x.privilege_type ORDER BY 1)
FROM pg_largeobject_metadata l CROSS JOIN LATERAL aclexplode(l.lomacl) x
WHERE l.lomacl IS NOT NULL AND x.grantee <> l.lomowner
GROUP BY l.oid, l.lomowner ORDER BY l.oid LIMIT 21`

func scanLargeObjects(rows pgx.Rows) ([]LargeObject, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (LargeObject, error) {
		var lo LargeObject
		return lo, r.Scan(&lo.OID, &lo.Owner, &lo.Grants)
	})
}
