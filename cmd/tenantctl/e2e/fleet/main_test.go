package fleet_test

import (
	"os"
	"testing"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
)

// Five tests at once on two pairs: the corpus and the scheduler tests bring their own
// servers or need the catalog alone; the rest are short.
func TestMain(m *testing.M) {
	os.Exit(e2e.Main(m, 5, 2))
}
