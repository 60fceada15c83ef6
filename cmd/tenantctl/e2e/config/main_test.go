package config_test

import (
	"os"
	"testing"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
)

// Four tests at once on three pairs: short tests, most of them on a pair.
func TestMain(m *testing.M) {
	os.Exit(e2e.Main(m, 4, 3))
}
