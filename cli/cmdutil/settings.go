package cmdutil

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/secret"
)

// LoadConfig finds and reads the config file and selects its context. It sets
// f.Flags.Config to the file commands that write one use (dev up, demo) and f.ConfigRead
// to the file read, if any.
func (f *Factory) LoadConfig(cmd *cobra.Command) (config.File, error) {
	explicit := config.Resolve(cmd.Flags().Changed("config"), f.Flags.Config, f.Getenv("TENANTCTL_CONFIG"), "", "")
	var found config.Found
	if explicit != "" {
		found = config.Found{Path: explicit, Project: explicit, Source: "explicit"}
	} else {
		wd, err := os.Getwd()
		if err != nil {
			wd = ""
		}
		found = config.Discover(wd, f.Getenv)
	}
	f.Flags.Config = found.Project
	f.ConfigRead, f.ConfigSource = found.Path, found.Source
	if found.Path == "" {
		if name := f.ContextName(cmd); name != "" {
			return config.File{}, validate.Errorf("context %q requested but no config file was found (looked for %s here and in parent directories, and %s)",
				name, config.DefaultPath, config.UserPath(f.Getenv))
		}
		return config.File{}, nil
	}
	// Commands that write the config file may be pointed at one that does not exist yet.
	file, err := config.Load(found.Path, explicit != "" && cmd.Annotations[AnnotCreatesConfig] == "")
	if err != nil {
		return file, err
	}
	f.RawFile = file
	s, err := file.Select(f.ContextName(cmd))
	if err != nil && cmd.Annotations[AnnotConfigEditor] == "" {
		return file, err
	}
	file.Settings = s
	return file, nil
}

// AnnotConfigEditor marks commands that inspect or edit the config file itself: a
// current_context naming no context must not stop them.
const AnnotConfigEditor = "config-editor"

// ContextName is the context asked for with --context or TENANTCTL_CONTEXT ("" for the
// file's current_context).
func (f *Factory) ContextName(cmd *cobra.Command) string {
	return config.Resolve(cmd.Flags().Changed("context"), f.Flags.Context, f.Getenv("TENANTCTL_CONTEXT"), "", "")
}

// Box loads the secret key, or returns nil when none is configured (commands that need
// it then fail with secret.ErrNoKey). Precedence is that of every setting: the flag, then
// the environment (TENANTCTL_SECRET_KEY_FILE or TENANTCTL_SECRET_KEY, not both), then the
// config file's secret_key_file.
func (f *Factory) Box() (*secret.Box, error) {
	var file, inline string
	envFile, envKey := f.Getenv("TENANTCTL_SECRET_KEY_FILE"), f.Getenv("TENANTCTL_SECRET_KEY")
	switch {
	case f.Root.PersistentFlags().Changed("secret-key-file"):
		file = f.Flags.SecretKeyFile
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
		file = f.File.SecretKeyFile
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
