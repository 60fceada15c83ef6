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
	b = jsonw.String(jsonw.Key(b, "slug", true), t.Slug)
	b = jsonw.StringField(b, "id", t.ID)
	b = jsonw.StringField(b, "name", t.Name)
	b = jsonw.StringField(b, "domain", t.Domain)
	b = jsonw.StringField(b, "database", t.Database)
	b = jsonw.StringField(b, "server", t.Server)
	b = jsonw.StringField(b, "state", t.State)
	b = jsonw.IntField(b, "schema_version", t.SchemaVersion)
	b = jsonw.OmitString(b, "contact_email", t.ContactEmail)
	if len(t.Labels) > 0 {
		b = jsonw.Key(b, "labels", false)
		b, _ = jsonw.Value(b, t.Labels) // a map[string]string always marshals
	}
	b = jsonw.OmitString(b, "step", t.Step)
	b = jsonw.OmitString(b, "last_error", t.LastError)
	b = jsonw.OmitString(b, "migration_error", t.MigrationError)
	b = jsonw.OmitInt(b, "migration_failed_version", t.MigrationFailedVersion)
	b = jsonw.OmitTime(b, "migration_failed_at", t.MigrationFailedAt)
	b = jsonw.TimeField(b, "created_at", t.CreatedAt)
	b = jsonw.TimeField(b, "updated_at", t.UpdatedAt)
	b = jsonw.OmitTime(b, "deleted_at", t.DeletedAt)
	b = jsonw.OmitTime(b, "purged_at", t.PurgedAt)
	return append(b, '}')
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
