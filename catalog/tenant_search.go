package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// TenantSearch is a page of the tenant list for the console and the API: a search over
// slug, name and domain, filters, a sort and paging.
type TenantSearch struct {
	// Query matches slug, name or domain, case-insensitively, anywhere.
	Query  string
	State  string
	Server string
	// Sort is one of [TenantSortKeys]; Desc reverses it.
	Sort   string
	Desc   bool
	Limit  int
	Offset int
}

// TenantSortKeys are the columns a tenant list sorts by.
var TenantSortKeys = []string{"slug", "name", "domain", "state", "server", "schema_version", "created_at"}

// FigureSortKeys are the figures a tenant list sorts by: they live outside the catalog
// (the warehouse, the servers), so the fleet view sorts by them; [Store.SearchTenants]
// orders such a search by slug.
var FigureSortKeys = []string{"users", "systems", "open_incidents", "size_bytes"}

// MaxPage is the largest page [Store.SearchTenants] returns.
const MaxPage = 500

// Validate checks and defaults the search.
func (q *TenantSearch) Validate() error {
	if q.Sort == "" {
		q.Sort = "slug"
	}
	if !slices.Contains(TenantSortKeys, q.Sort) && !slices.Contains(FigureSortKeys, q.Sort) {
		return validate.Errorf("invalid sort %q: use one of %s", q.Sort, strings.Join(append(slices.Clone(TenantSortKeys), FigureSortKeys...), ", "))
	}
	if q.State != "" && !slices.Contains([]string{StateProvisioning, StateActive, StateSuspended, StateDeleting, StatePurged, StateFailed}, q.State) {
		return validate.Errorf("invalid state %q: use provisioning, active, suspended, deleting, failed or purged", q.State)
	}
	if q.Server != "" {
		if err := validate.ServerName(q.Server); err != nil {
			return err
		}
	}
	if utf8.RuneCountInString(q.Query) > 200 {
		return validate.Errorf("invalid search: at most 200 characters")
	}
	if err := validate.PlainText("search", q.Query); err != nil {
		return err
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	if q.Limit < 1 || q.Limit > MaxPage {
		return validate.Errorf("invalid limit %d: use 1-%d", q.Limit, MaxPage)
	}
	if q.Offset < 0 {
		return validate.Errorf("invalid offset %d: it must not be negative", q.Offset)
	}
	return nil
}

// SearchTenants returns one page of tenants and how many match in all. Purged tenants
// are listed only when State asks for them.
func (s *Store) SearchTenants(ctx context.Context, q TenantSearch) ([]Tenant, int, error) {
	if err := q.Validate(); err != nil {
		return nil, 0, err
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	// The sort column comes from a fixed list (checked above), never from the request.
	col := q.Sort
	if slices.Contains(FigureSortKeys, col) {
		col = "slug"
	}
	order := fmt.Sprintf("%s %s, slug %s, created_at", col, dir, dir)
	like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(q.Query)) + "%"
	rows, err := s.pool.Query(ctx, `SELECT `+tenantColumns+`, count(*) OVER () FROM tenants
		WHERE ($1 = '' AND state <> 'purged' OR state = $1)
		  AND ($2 = '' OR server = $2)
		  AND ($3 = '%%' OR lower(slug) LIKE $3 OR lower(name) LIKE $3 OR lower(domain) LIKE $3)
		ORDER BY `+order+` LIMIT $4 OFFSET $5`, q.State, q.Server, like, q.Limit, q.Offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []Tenant{}
	total := 0
	for rows.Next() {
		var t Tenant
		err := rows.Scan(&t.ID, &t.Slug, &t.Name, &t.Domain, &t.ContactEmail, &t.Labels, &t.State, &t.Step, &t.Server,
			&t.SchemaVersion, &t.LastError, &t.MigrationError, &t.MigrationFailedVersion, &t.MigrationFailedAt,
			&t.CreatedAt, &t.UpdatedAt, &t.DeletedAt, &t.PurgedAt, &total)
		if err != nil {
			return nil, 0, err
		}
		t.Database = DatabaseName(t.ID)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if len(out) == 0 && q.Offset > 0 {
		// Past the last page: still say how many there are.
		err = s.pool.QueryRow(ctx, `SELECT count(*) FROM tenants
			WHERE ($1 = '' AND state <> 'purged' OR state = $1) AND ($2 = '' OR server = $2)
			  AND ($3 = '%%' OR lower(slug) LIKE $3 OR lower(name) LIKE $3 OR lower(domain) LIKE $3)`, q.State, q.Server, like).Scan(&total)
	}
	return out, total, err
}
