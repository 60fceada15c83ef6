package root

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdutil"
)

// commands returns every command of the tree, depth first.
func commands(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		out = append(out, c)
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return out
}

func newRoot() *cobra.Command {
	return NewCmdRoot(cmdutil.NewTest())
}

var passwordInExample = regexp.MustCompile(`://[^:/@\s'"]+:[^@\s'"]+@|(?i)password\s*=`)

// TestHelpExamples: every command that takes arguments or flags shows an example; no
// example puts a password on the command line; and every tenantctl invocation in an
// example names a real command with real flags.
func TestHelpExamples(t *testing.T) {
	t.Parallel()
	root := newRoot()
	for _, c := range commands(root) {
		if c.Hidden || !c.IsAvailableCommand() || c == root || c.HasSubCommands() || c.Parent().Name() == "completion" {
			continue
		}
		hasFlags := false
		c.LocalNonPersistentFlags().VisitAll(func(*pflag.Flag) { hasFlags = true })
		if hasFlags || strings.Contains(c.Use, " ") {
			if c.Example == "" {
				t.Errorf("%s takes arguments but --help shows no example", c.CommandPath())
			}
		}
		require.NotRegexp(t, passwordInExample, c.Example, "%s: a password on the command line shows in ps", c.CommandPath())
		for _, line := range exampleInvocations(c.Example) {
			require.NoError(t, checkInvocation(root, line), "%s example: %s", c.CommandPath(), line)
		}
	}
}

// exampleInvocations returns the tenantctl command lines in an example (after any pipe,
// before any comment or &&).
func exampleInvocations(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.SplitN(line, "#", 2)[0])
		for _, part := range regexp.MustCompile(`\|\||&&|\||;`).Split(line, -1) {
			part = strings.TrimSpace(part)
			if strings.HasPrefix(part, "tenantctl ") {
				out = append(out, part)
			}
		}
	}
	return out
}

// checkInvocation parses a tenantctl command line against the tree without running it.
func checkInvocation(root *cobra.Command, line string) error {
	words, err := shellWords(line)
	if err != nil {
		return err
	}
	cmd, rest, err := root.Find(words[1:])
	if err != nil {
		return err
	}
	if cmd == root {
		return errUnknown(line)
	}
	fs := pflag.NewFlagSet("check", pflag.ContinueOnError)
	fs.AddFlagSet(cmd.Flags())
	fs.AddFlagSet(cmd.InheritedFlags())
	fs.SetOutput(io.Discard)
	return fs.Parse(rest)
}

type errUnknown string

func (e errUnknown) Error() string { return "no such command: " + string(e) }

// shellWords splits a command line like a POSIX shell would, for the quoting examples use.
func shellWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errUnknown("unbalanced quote in: " + line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
