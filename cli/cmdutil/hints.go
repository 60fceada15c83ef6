package cmdutil

import (
	"errors"
	"strings"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/localpg"
	"github.com/tenantctl/tenantctl/mover"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/rollout"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/serve"
)

// The libraries speak in typed errors and option names; the flags live here, so this is
// the one place that says which flag or command fixes an error. DescribeError renders an
// error for the terminal with those hints; the error itself (recorded in job runs and
// events) keeps the library's words.

// flagOf maps a library option name (validate.FieldError.Field) to the flag that sets it,
// where the two differ.
var flagOf = map[string]string{}

func flagName(field string) string {
	if f, ok := flagOf[field]; ok {
		return f
	}
	return "--" + field
}

// sentinelHints replace a library sentinel's words with the CLI's.
var sentinelHints = []struct {
	err  error
	text string
}{
	{catalog.ErrNoCatalog, "no catalog configured: set --catalog or TENANTCTL_CATALOG_DSN, or run `tenantctl dev up` to start a local one"},
	{catalog.ErrNoWarehouse, "no warehouse registered: run `tenantctl warehouse init --dsn DSN`"},
	{rollout.ErrFleetDown, "migrate down works on one tenant at a time: name it with --tenant SLUG (rolling back the whole fleet is refused)"},
	{catalog.ErrNotInitialized, catalog.ErrNotInitialized.Error() + ": run `tenantctl catalog init` first"},
	{secret.ErrNoKey, "no secret key: set TENANTCTL_SECRET_KEY (base64) or --secret-key-file " +
		"(TENANTCTL_SECRET_KEY_FILE) to the 32-byte key that encrypts credentials in the catalog"},
	{serve.ErrHalfTLS, "give both --tls-cert and --tls-key, or neither"},
}

// DescribeError is err's message with the library's words for options, confirmations
// and missing setup replaced by the flags and commands that fix them. It finds what to
// replace by type (errors.As / errors.Is), never by reading the message.
func DescribeError(err error) string {
	msg := err.Error()
	replace := func(lib, cli string) { msg = strings.Replace(msg, lib, cli, 1) }
	var fe *validate.FieldError
	if errors.As(err, &fe) {
		replace(fe.Error(), fe.Render(flagName(fe.Field)))
	}
	var me *validate.MissingError
	if errors.As(err, &me) {
		replace(me.Error(), me.Render(flagName(me.Field)))
	}
	var ce *provisioner.ConfirmError
	if errors.As(err, &ce) {
		replace(ce.Error(), "refusing to "+ce.Action+" \""+ce.Slug+"\": pass --confirm "+ce.Slug+" to confirm")
	}
	var che *rollout.ChangedError
	if errors.As(err, &che) {
		replace(che.Error(), che.Render("pass --allow-changed"))
	}
	var wk *catalog.WrongKeyError
	if errors.As(err, &wk) {
		replace(wk.Error(), wk.Error()+" (`tenantctl secret key-id --key-file F` prints the id of a key file)")
	}
	if errors.Is(err, catalog.ErrKeyStillValid) {
		replace(catalog.ErrKeyStillValid.Error(), catalog.ErrKeyStillValid.Error()+" (to change keys, use `tenantctl secret rotate-key`)")
	}
	var ime *mover.InterruptedMoveError
	if errors.As(err, &ime) {
		replace(ime.Error(), "tenant \""+ime.Slug+"\" has an interrupted move to "+ime.Target+": rerun with --to "+ime.Target+
			" to finish it, or roll it back with `tenantctl tenant move "+ime.Slug+" --rollback` (or `tenantctl reconcile`)")
	}
	var de *provisioner.DrainingError
	if errors.As(err, &de) {
		replace(de.Error(), de.Error()+" (tenantctl server undrain "+de.Server+")")
	}
	var nf *provisioner.NoServerFitsError
	if errors.As(err, &nf) {
		replace(nf.Error(), nf.Error()+"; add one with `tenantctl server add`")
	}
	var ue *provisioner.UnfinishedError
	if errors.As(err, &ue) {
		hint := " (run `tenantctl reconcile`)"
		if ue.Rerun {
			hint = " (rerun the same create, or `tenantctl reconcile`, to retry)"
		}
		replace(ue.Error(), ue.Error()+hint)
	}
	var gh *mover.GrantsHeldError
	if errors.As(err, &gh) {
		replace(gh.Error(), gh.Error()+" (tenantctl access revoke LOGIN --tenant "+gh.Slug+")")
	}
	var ur *localpg.UnreachableError
	if errors.As(err, &ur) {
		replace(ur.Error(), ur.Render("--dir "))
	}
	var sr *localpg.SharedRootError
	if errors.As(err, &sr) {
		replace(sr.Error(), sr.Render("--dir"))
	}
	for _, h := range sentinelHints {
		if errors.Is(err, h.err) {
			replace(h.err.Error(), h.text)
		}
	}
	return msg
}
