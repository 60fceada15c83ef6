package warehouse

import (
	"context"
	"fmt"

	"github.com/jackc/pgerrcode"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// DomainUser is a customer user whose email is outside the customer's domain.
type DomainUser struct {
	Email    string `json:"email"`
	FullName string `json:"full_name"`
	Role     string `json:"role"`
}

// UsersOutsideDomain is the compliance check of the customer's users: the rolled-up
// users of tenantID whose email is not one address under domain (compared without case).
// The demo schema refuses such a user when it is written; rows written before it did,
// or by a schema that does not check, are found here. ok is false when the warehouse
// holds no users table (nothing rolled up yet, or a schema without one).
func UsersOutsideDomain(ctx context.Context, q Querier, tenantID, domain string) (users []DomainUser, ok bool, err error) {
	rows, err := q.Query(ctx, `
		SELECT email::text, coalesce(full_name::text, ''), coalesce(role::text, '')
		FROM public.users
		WHERE tenant_id = $1
		  AND NOT (email::text ~ '^[^@\s]+@[^@\s]+$' AND lower(split_part(email::text, '@', 2)) = lower($2))
		ORDER BY email
		LIMIT 1000`, tenantID, domain)
	if err != nil {
		if dbconn.HasCode(err, pgerrcode.UndefinedTable) || dbconn.HasCode(err, pgerrcode.UndefinedColumn) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("users outside the domain of tenant %s: %w", tenantID, err)
	}
	defer rows.Close()
	users = []DomainUser{}
	for rows.Next() {
		var u DomainUser
		if err := rows.Scan(&u.Email, &u.FullName, &u.Role); err != nil {
			return nil, false, err
		}
		users = append(users, u)
	}
	return users, true, rows.Err()
}
