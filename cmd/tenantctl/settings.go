package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/secret"
)

// loadConfig finds and reads the config file and selects its context. It sets
// a.flags.config to the file commands that write one use (dev up, demo) and a.configRead
// to the file read, if any.
func (a *app) loadConfig(cmd *cobra.Command) (config.File, error) {
	explicit := config.Resolve(cmd.Flags().Changed("config"), a.flags.config, a.getenv("TENANTCTL_CONFIG"), "", "")
	var found config.Found
	if explicit != "" {
		found = config.Found{Path: explicit, Project: explicit, Source: "explicit"}
	} else {
		wd, err := os.Getwd()
		if err != nil {
			wd = ""
		}
		found = config.Discover(wd, a.getenv)
	}
	a.flags.config = found.Project
	a.configRead, a.configSource = found.Path, found.Source
	if found.Path == "" {
		if name := a.contextName(cmd); name != "" {
			return config.File{}, validate.Errorf("context %q requested but no config file was found (looked for %s here and in parent directories, and %s)",
				name, config.DefaultPath, config.UserPath(a.getenv))
		}
		return config.File{}, nil
	}
	// Commands that write the config file may be pointed at one that does not exist yet.
	f, err := config.Load(found.Path, explicit != "" && cmd.Annotations[annotCreatesConfig] == "")
	if err != nil {
		return f, err
	}
	a.rawFile = f
	s, err := f.Select(a.contextName(cmd))
	if err != nil && cmd.Annotations[annotConfigEditor] == "" {
		return f, err
	}
	f.Settings = s
	return f, nil
}

// annotConfigEditor marks commands that inspect or edit the config file itself: a
// current_context naming no context must not stop them.
const annotConfigEditor = "config-editor"

// contextName is the context asked for with --context or TENANTCTL_CONTEXT ("" for the
// file's current_context).
func (a *app) contextName(cmd *cobra.Command) string {
	return config.Resolve(cmd.Flags().Changed("context"), a.flags.context, a.getenv("TENANTCTL_CONTEXT"), "", "")
}

// box loads the secret key, or returns nil when none is configured (commands that need
// it then fail with secret.ErrNoKey). Precedence is that of every setting: the flag, then
// the environment (TENANTCTL_SECRET_KEY_FILE or TENANTCTL_SECRET_KEY, not both), then the
// config file's secret_key_file.
func (a *app) box() (*secret.Box, error) {
	var file, inline string
	envFile, envKey := a.getenv("TENANTCTL_SECRET_KEY_FILE"), a.getenv("TENANTCTL_SECRET_KEY")
	switch {
	case a.root.PersistentFlags().Changed("secret-key-file"):
		file = a.flags.secretKeyFile
		if file == "" {
			return nil, validate.Errorf("--secret-key-file is empty")
		}
	case envFile != "" && envKey != "":
		return nil, validate.Errorf("both TENANTCTL_SECRET_KEY_FILE and TENANTCTL_SECRET_KEY are set: keep one")
	case envFile != "":
		file = envFile
	case envKey != "":
		inline = envKey
	default:
		file = a.file.SecretKeyFile
	}
	if file == "" && inline == "" {
		return nil, nil
	}
	box, err := secret.LoadKey(file, inline)
	if err != nil {
		return nil, validate.Invalid(err)
	}
	return box, nil
}
