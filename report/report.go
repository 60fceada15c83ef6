package report

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Tenant is who a report is about.
type Tenant struct {
	ID     string `json:"id"`
	Slug   string `json:"slug"`
	Name   string `json:"name"`
	Domain string `json:"domain"`
}

// Report is one customer's report.
type Report struct {
	Title       string    `json:"title"`
	Tenant      Tenant    `json:"tenant"`
	GeneratedAt time.Time `json:"generated_at"`
	Sections    []Section `json:"sections"`
}

// Section is the result of one query.
type Section struct {
	Name    string     `json:"name"`
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
	// Note says why a section is empty when it could not run (a table not rolled up yet).
	Note string `json:"note,omitempty"`
}

// Beginner opens transactions on the warehouse (a pool or a connection).
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// Build runs every query of spec for tenant t in one read-only, repeatable-read
// transaction on the warehouse (so every section sees the same data), binding the
// tenant id as $1.
func Build(ctx context.Context, wh Beginner, spec *Spec, t Tenant) (r Report, retErr error) {
	r = Report{Title: spec.Title, Tenant: t, GeneratedAt: time.Now().UTC()}
	tx, err := wh.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return r, fmt.Errorf("report for %s: %w", t.Slug, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	for _, q := range spec.Queries {
		sec := Section{Name: q.Name, Title: q.Title, Columns: []string{}, Rows: [][]string{}}
		// A savepoint per query: a table missing from the warehouse (nothing rolled up
		// yet) empties that section, not the report.
		if _, err := tx.Exec(ctx, "SAVEPOINT q"); err != nil {
			return r, err
		}
		err := runQuery(ctx, tx, q, t.ID, &sec)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == pgerrcode.UndefinedTable || pgErr.Code == pgerrcode.UndefinedColumn) {
			if _, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT q"); rerr != nil {
				return r, rerr
			}
			sec.Note = "no data: " + pgErr.Message + " (has the rollup run?)"
			sec.Rows = [][]string{}
			err = nil
		}
		if err != nil {
			return r, fmt.Errorf("report query %q for %s: %w", q.Name, t.Slug, err)
		}
		r.Sections = append(r.Sections, sec)
	}
	return r, nil
}

func runQuery(ctx context.Context, tx pgx.Tx, q Query, tenantID string, sec *Section) error {
	rows, err := tx.Query(ctx, q.SQL, tenantID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for _, f := range rows.FieldDescriptions() {
		sec.Columns = append(sec.Columns, f.Name)
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = format(v)
		}
		sec.Rows = append(sec.Rows, row)
	}
	return rows.Err()
}

func format(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04")
	case pgtype.Numeric:
		f, err := x.Float64Value()
		if err == nil && f.Valid {
			return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f.Float64), "0"), ".")
		}
		return ""
	case []byte:
		return fmt.Sprintf("\\x%x", x)
	default:
		return fmt.Sprint(x)
	}
}

// Value returns the first row's value of column col in section name ("" when absent):
// handy for counts.
func (r Report) Value(name, col string) string {
	for _, s := range r.Sections {
		if s.Name != name || len(s.Rows) == 0 {
			continue
		}
		for i, c := range s.Columns {
			if c == col {
				return s.Rows[0][i]
			}
		}
	}
	return ""
}
