package server_test

import (
	"os"
	"testing"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
)

// Four tests at once on two pairs: short tests.
func TestMain(m *testing.M) {
	os.Exit(e2e.Main(m, 4, 2))
}
