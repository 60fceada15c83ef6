package local_test

import (
	"os"
	"testing"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
)

// dev and demo start clusters of their own: no pairs.
func TestMain(m *testing.M) {
	os.Exit(e2e.Main(m, 2, 0))
}
