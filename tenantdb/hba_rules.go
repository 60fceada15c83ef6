package tenantdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pghba"
)

// ErrHBAUnreadable is matched (errors.Is) by the error [Server.HBARules] returns when
// the admin role may not read pg_hba_file_rules.
var ErrHBAUnreadable = errors.New("the admin role cannot read pg_hba_file_rules")

// HBAUnreadableError says which role lacks the grant and what a superuser runs to give
// it (see [HBAGrantSQL]).
type HBAUnreadableError struct {
	Role string
	Err  error
}

func (e *HBAUnreadableError) Error() string {
	return fmt.Sprintf("the admin role %s cannot read the server's effective pg_hba.conf rules (%v); as a superuser run: %s", e.Role, e.Err, HBAGrantSQL(e.Role))
}

func (e *HBAUnreadableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrHBAUnreadable) true.
func (e *HBAUnreadableError) Is(target error) bool { return target == ErrHBAUnreadable }

// HBAGrantSQL returns the statements a superuser runs so that role may read the
// server's effective pg_hba.conf rules (the view and the function behind it are
// superuser-only by default). They give no other privilege.
func HBAGrantSQL(role string) string { return pghba.GrantSQL(role) }

// HBARules reads the server's pg_hba.conf as the server parses it now
// (pg_hba_file_rules, in file order). The view reads the file on disk: after an edit
// without a reload it shows what the next reload will load, and a line the server
// cannot read is returned with its error.
func (s *Server) HBARules(ctx context.Context) ([]pghba.Rule, error) {
	conn, err := s.Connect(ctx, "postgres")
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `
		SELECT coalesce(line_number, 0), coalesce(type, ''), coalesce(database, '{}'), coalesce(user_name, '{}'),
		       coalesce(address, ''), coalesce(netmask, ''), coalesce(auth_method, ''), coalesce(error, '')
		FROM pg_catalog.pg_hba_file_rules ORDER BY line_number`)
	if err == nil {
		var out []pghba.Rule
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (pghba.Rule, error) {
			var r pghba.Rule
			err := row.Scan(&r.Line, &r.Type, &r.Database, &r.User, &r.Address, &r.Netmask, &r.Method, &r.Error)
			return r, err
		})
		if err == nil {
			return out, nil
		}
	}
	if dbconn.HasCode(err, pgerrcode.InsufficientPrivilege) {
		return nil, &HBAUnreadableError{Role: s.cfg.User, Err: err}
	}
	return nil, fmt.Errorf("read pg_hba_file_rules: %w", err)
}
