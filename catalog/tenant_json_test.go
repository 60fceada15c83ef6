package catalog

import (
	"encoding/json"
	"testing"
	"time"
)

// TestTenantAppendJSONMatchesEncodingJSON: the hand-written encoder prints exactly
// what encoding/json prints for the same tenant, whichever fields are set.
func TestTenantAppendJSONMatchesEncodingJSON(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 1, 2, 345678000, time.FixedZone("X", 5400))
	v := int64(7)
	tenants := []Tenant{
		{},
		{Slug: "acme", ID: "abc", Name: "Acme <GmbH> & Co", Domain: "acme.example", Database: "t_abc", Server: "pg-a",
			State: StateActive, SchemaVersion: 3, CreatedAt: now, UpdatedAt: now},
		{Slug: "b", ID: "x", Name: "Bé \"quoted\"\n", ContactEmail: "ops@b.example", Labels: map[string]string{"tier": "gold", "env": "prod"},
			Step: "warehouse", LastError: "boom\t", MigrationError: "failed: x", MigrationFailedVersion: &v, MigrationFailedAt: &now,
			CreatedAt: now, UpdatedAt: now.UTC(), DeletedAt: &now, PurgedAt: &now},
		{Slug: "c", Labels: map[string]string{}},
	}
	for _, tn := range tenants {
		want, err := json.Marshal(tn)
		if err != nil {
			t.Fatal(err)
		}
		if got := tn.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("AppendJSON:\n got %s\nwant %s", got, want)
		}
	}
}
