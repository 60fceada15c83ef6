package catalog

import (
	"encoding/json"
	"fmt"

	"github.com/tenantctl/tenantctl/internal/jsonw"
)

// AppendJSON appends t as encoding/json would marshal it (same fields, order and
// omissions), without reflection: `tenant list -o json` prints 10,000 of these per run.
func (t Tenant) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	b = jsonw.Key(b, "slug", true)
	b = jsonw.String(b, t.Slug)
	b = jsonw.Key(b, "id", false)
	b = jsonw.String(b, t.ID)
	b = jsonw.Key(b, "name", false)
	b = jsonw.String(b, t.Name)
	b = jsonw.Key(b, "domain", false)
	b = jsonw.String(b, t.Domain)
	b = jsonw.Key(b, "database", false)
	b = jsonw.String(b, t.Database)
	b = jsonw.Key(b, "server", false)
	b = jsonw.String(b, t.Server)
	b = jsonw.Key(b, "state", false)
	b = jsonw.String(b, t.State)
	b = jsonw.Key(b, "schema_version", false)
	b = jsonw.Int(b, t.SchemaVersion)
	b = optString(b, "contact_email", t.ContactEmail)
	if len(t.Labels) > 0 {
		b = jsonw.Key(b, "labels", false)
		b, _ = jsonw.Value(b, t.Labels) // a map[string]string always marshals
	}
	b = optString(b, "step", t.Step)
	b = optString(b, "last_error", t.LastError)
	b = optString(b, "migration_error", t.MigrationError)
	if t.MigrationFailedVersion != nil {
		b = jsonw.Key(b, "migration_failed_version", false)
		b = jsonw.Int(b, *t.MigrationFailedVersion)
	}
	if t.MigrationFailedAt != nil {
		b = jsonw.Key(b, "migration_failed_at", false)
		b = jsonw.Time(b, *t.MigrationFailedAt)
	}
	b = jsonw.Key(b, "created_at", false)
	b = jsonw.Time(b, t.CreatedAt)
	b = jsonw.Key(b, "updated_at", false)
	b = jsonw.Time(b, t.UpdatedAt)
	if t.DeletedAt != nil {
		b = jsonw.Key(b, "deleted_at", false)
		b = jsonw.Time(b, *t.DeletedAt)
	}
	if t.PurgedAt != nil {
		b = jsonw.Key(b, "purged_at", false)
		b = jsonw.Time(b, *t.PurgedAt)
	}
	return append(b, '}')
}

func optString(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = jsonw.Key(b, key, false)
	return jsonw.String(b, v)
}

// decodeLabels decodes a labels column; most tenants have none, and skipping
// encoding/json for "{}" is most of what scanning 10,000 tenants costs in labels.
func decodeLabels(raw []byte) (map[string]string, error) {
	labels := map[string]string{}
	if len(raw) == 0 || string(raw) == "{}" {
		return labels, nil
	}
	if err := json.Unmarshal(raw, &labels); err != nil {
		return nil, fmt.Errorf("decode tenant labels: %w", err)
	}
	return labels, nil
}
