package tenant_test

import (
	"os"
	"testing"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
)

// Five tests at once on four pairs: the concurrent and killed creates are the long ones.
func TestMain(m *testing.M) {
	os.Exit(e2e.Main(m, 5, 4))
}
