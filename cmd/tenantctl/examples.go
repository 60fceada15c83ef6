package main

import "github.com/spf13/cobra"

// examples are the --help examples of commands that do not carry their own, by command
// path. Every command that takes arguments or flags has one (a test checks it), and none
// puts a password on the command line.
var examples = map[string]string{
	"tenantctl access dsn":    "  tenantctl access dsn alice --tenant acme     # prints alice's password inside the DSN: keep it off shared screens",
	"tenantctl access list":   "  tenantctl access list\n  tenantctl access list --tenant acme -o json\n  tenantctl access list --login alice",
	"tenantctl access revoke": "  tenantctl access revoke alice --tenant acme",
	"tenantctl audit history": "  tenantctl audit history\n  tenantctl audit history --limit 5 -o json",
	"tenantctl catalog init": "  export TENANTCTL_CATALOG_DSN='postgres://tenantctl@catalog.internal/catalog?sslmode=verify-full'   # password in ~/.pgpass\n" +
		"  tenantctl catalog init",
	"tenantctl catalog status":         "  tenantctl catalog status\n  tenantctl catalog status -o json",
	"tenantctl config current-context": "  tenantctl config current-context",
	"tenantctl dev down":               "  tenantctl dev down\n  tenantctl dev down --purge     # delete the clusters, the key, the config and the demo's migrations",
	"tenantctl dev status":             "  tenantctl dev status\n  tenantctl dev status -o json",
	"tenantctl dev up":                 "  tenantctl dev up\n  tenantctl dev up --servers 3 --dir /var/tmp/tenantctl",
	"tenantctl events":                 "  tenantctl events --limit 20\n  tenantctl events --tenant acme -o json",
	"tenantctl jobs":                   "  tenantctl jobs\n  tenantctl jobs --limit 50 -o yaml",
	"tenantctl migrate down":           "  tenantctl migrate down --tenant acme --dry-run\n  tenantctl migrate down --tenant acme --to 1",
	"tenantctl migrate status":         "  tenantctl migrate status\n  tenantctl migrate status --tenant acme -o json",
	"tenantctl operator revoke":        "  tenantctl operator revoke alice     # her token and console sessions stop working at once",
	"tenantctl serve probe":            "  tenantctl serve probe\n  tenantctl serve probe --listen 127.0.0.1:8443 --tls",
	"tenantctl reconcile":              "  tenantctl reconcile --dry-run\n  tenantctl reconcile",
	"tenantctl rollup status":          "  tenantctl rollup status\n  tenantctl rollup status --tenant acme -o json",
	"tenantctl scheduler": "  tenantctl scheduler\n  tenantctl scheduler --listen 0.0.0.0:9477 --rollup-schedule '@every 30m' --audit-schedule 'CRON_TZ=Europe/Paris 0 6 * * *'\n" +
		"  tenantctl scheduler --migrate-schedule off",
	"tenantctl scheduler probe":           "  tenantctl scheduler probe\n  tenantctl scheduler probe --ready --listen 127.0.0.1:9477",
	"tenantctl server drain":              "  tenantctl server drain pg-a     # no new tenants on pg-a",
	"tenantctl server list":               "  tenantctl server list\n  tenantctl server list -o json",
	"tenantctl server remove":             "  tenantctl server remove pg-a     # refused while tenants live there",
	"tenantctl server undrain":            "  tenantctl server undrain pg-a",
	"tenantctl tenant cancel-delete":      "  tenantctl tenant cancel-delete acme && tenantctl tenant resume acme",
	"tenantctl tenant delete":             "  tenantctl tenant delete acme --confirm acme --dry-run\n  tenantctl tenant delete acme --confirm acme\n  tenantctl tenant delete acme --confirm acme --purge",
	"tenantctl tenant dsn":                "  tenantctl tenant dsn acme     # prints the application's password inside the DSN",
	"tenantctl tenant list":               "  tenantctl tenant list\n  tenantctl tenant list --state deleting --server pg-a -o json",
	"tenantctl tenant purge":              "  tenantctl tenant purge acme --confirm acme --dry-run\n  tenantctl tenant purge --expired --dry-run\n  tenantctl tenant purge --expired --retention 720h --yes",
	"tenantctl tenant resume":             "  tenantctl tenant resume acme",
	"tenantctl tenant rotate-credentials": "  tenantctl tenant rotate-credentials acme && tenantctl tenant dsn acme",
	"tenantctl tenant show":               "  tenantctl tenant show acme\n  tenantctl tenant show acme -o yaml",
	"tenantctl tenant suspend":            "  tenantctl tenant suspend acme     # the app role can no longer log in",
	"tenantctl version":                   "  tenantctl version\n  tenantctl version -o json",
	"tenantctl warehouse init":            "  tenantctl warehouse init --dsn-file /etc/tenantctl/warehouse.dsn\n  printf '%s' \"$WAREHOUSE_DSN\" | tenantctl warehouse init --dsn -",
}

// addExample gives c its example from the table when it has none.
func addExample(c *cobra.Command) {
	if c.Example == "" {
		c.Example = examples[c.CommandPath()]
	}
}
