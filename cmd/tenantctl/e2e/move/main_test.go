package move_test

import (
	"os"
	"testing"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
)

// Six tests at once on four pairs: the logical move runs on clusters of its own, the
// evacuation and the kill families are the long ones.
func TestMain(m *testing.M) {
	os.Exit(e2e.Main(m, 6, 4))
}
