package rollout

import (
	"encoding/json"
	"testing"
	"time"
)

// TestTenantStatusAppendJSONMatchesEncodingJSON: `migrate status -o json` prints what
// encoding/json would, whichever optional fields are set.
func TestTenantStatusAppendJSONMatchesEncodingJSON(t *testing.T) {
	v := int64(4)
	at := time.Date(2026, 11, 30, 9, 8, 7, 600000000, time.UTC)
	for _, ts := range []TenantStatus{
		{},
		{Slug: "acme", Server: "pg-a", State: "active", Version: 3, Latest: 4, Pending: 1},
		{Slug: "b", Server: "pg-b", State: "suspended", Version: 3, Latest: 4, Pending: 1, LastError: "lock timeout <x> & \"y\"",
			FailedVersion: &v, FailedAt: &at, ReadError: "cannot connect"},
	} {
		want, err := json.Marshal(ts)
		if err != nil {
			t.Fatal(err)
		}
		if got := ts.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("AppendJSON:\n got %s\nwant %s", got, want)
		}
	}
}
