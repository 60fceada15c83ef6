package demo

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Tables are the demo schema's tables, as the restore step counts them.
var Tables = []string{"users", "systems", "incidents"}

// TableState is one table's row count and a checksum of its rows.
type TableState struct {
	Rows int64  `json:"rows"`
	Sum  string `json:"sum"`
}

// State is what the demo's restore step compares: each demo table of one tenant.
type State map[string]TableState

// String renders the row counts, e.g. "incidents 4, systems 3, users 3".
func (s State) String() string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, s[k].Rows))
	}
	return strings.Join(parts, ", ")
}

// ReadState counts and sums the demo tables through a tenant's own DSN.
func ReadState(ctx context.Context, dsn string) (State, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	st := State{}
	for _, t := range Tables {
		var ts TableState
		q := fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM %s x`, pgx.Identifier{t}.Sanitize())
		if err := conn.QueryRow(ctx, q).Scan(&ts.Rows, &ts.Sum); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		st[t] = ts
	}
	return st, nil
}

// DeleteIncidents is the mistake the demo's restore undoes: the customer deletes all
// its incidents, through its own credentials. It returns how many went.
func DeleteIncidents(ctx context.Context, dsn string) (int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tag, err := conn.Exec(ctx, `DELETE FROM incidents`)
	return tag.RowsAffected(), err
}
