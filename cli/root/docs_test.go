package root

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
)

// docFiles returns README.md and docs/*.md with their text.
func docFiles(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	require.NoError(t, err)
	files = append(files, "../../README.md")
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		out[filepath.Base(f)] = string(b)
	}
	require.Greater(t, len(out), 5)
	return out
}

var (
	inlineCmd = regexp.MustCompile("`(tenantctl [^`]+)`")
	flagWord  = regexp.MustCompile(`^--?[a-zA-Z][a-zA-Z0-9-]*`)
)

// docInvocations returns every tenantctl command line the docs show: lines of code blocks
// that run tenantctl (after a pipe or $( too), and inline code starting with tenantctl. A
// line's fragments after a | that do not start with tenantctl are kept with a leading "|"
// so the caller can tell a synopsis alternative ("drain NAME | undrain NAME") from a pipe.
func docInvocations(text string) [][]string {
	var out [][]string
	inBlock := false
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			inBlock = !inBlock
			continue
		}
		if !inBlock {
			for _, m := range inlineCmd.FindAllStringSubmatch(line, -1) {
				out = append(out, strings.Split(m[1], " | "))
			}
			continue
		}
		code := strings.SplitN(trimmed, " #", 2)[0]
		for _, stmt := range regexp.MustCompile(`&&|;|\$\(|\|\|`).Split(code, -1) {
			var frags []string
			for i, part := range strings.Split(stmt, "|") {
				part = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(part), "$ "))
				part = strings.TrimPrefix(part, "./")
				if j := strings.Index(part, ")"); j >= 0 {
					part = part[:j] // the end of a $( … )
				}
				switch {
				case strings.HasPrefix(part, "tenantctl "):
					frags = append(frags, part)
				case i > 0 && len(frags) > 0:
					frags = append(frags, "|"+part)
				}
			}
			if len(frags) > 0 {
				out = append(out, frags)
			}
		}
	}
	return out
}

// resolve finds the commands a documented line names, and the flags each uses.
// Synopsis lines are allowed: words in [brackets], placeholders, and alternatives — a
// fragment after | whose first word is a sibling command ("server drain NAME | undrain
// NAME"). Any other fragment after | is a shell command and is ignored.
func resolve(root *cobra.Command, frags []string) (cmds []*cobra.Command, flags [][]string) {
	var last *cobra.Command
	for _, frag := range frags {
		start := root
		// A synopsis line's description follows two or more spaces.
		frag = regexp.MustCompile(`\s{2,}`).Split(frag, 2)[0]
		words := strings.Fields(strings.NewReplacer("[", " ", "]", " ", "…", " ").Replace(frag))
		if strings.HasPrefix(frag, "|") {
			if len(words) > 0 {
				words[0] = strings.TrimPrefix(words[0], "|")
			}
			if last != nil && len(words) > 1 && words[0] == last.Parent().Name() {
				words = words[1:] // "dev up | dev down": the group named again
			}
			if last == nil || len(words) == 0 || child(last.Parent(), words[0]) == nil {
				continue // a pipe into another program
			}
			start = last.Parent()
		} else {
			words = words[1:] // "tenantctl"
		}
		cmd := start
		var fl []string
		takesValue := false
		for _, w := range words {
			if f := flagWord.FindString(w); f != "" {
				fl = append(fl, f)
				takesValue = !strings.Contains(w, "=") && flagTakesValue(cmd, f)
				continue
			}
			if takesValue {
				takesValue = false // the value of the flag before
				continue
			}
			if sub := child(cmd, w); sub != nil {
				cmd = sub
			} else if cmd.HasSubCommands() && regexp.MustCompile(`^[a-z][a-z-]*$`).MatchString(w) {
				cmd = root // a lowercase word where a subcommand must come: no such command
				break
			}
		}
		if cmd == root {
			cmds, flags = append(cmds, nil), append(flags, nil)
			continue
		}
		cmds, flags, last = append(cmds, cmd), append(flags, fl), cmd
	}
	return cmds, flags
}

// flagTakesValue reports whether flag f of cmd (or inherited) takes a value.
func flagTakesValue(cmd *cobra.Command, f string) bool {
	n := strings.TrimLeft(f, "-")
	fl := cmd.Flags().Lookup(n)
	if fl == nil {
		fl = cmd.InheritedFlags().Lookup(n)
	}
	if fl == nil && !strings.HasPrefix(f, "--") {
		if fl = cmd.Flags().ShorthandLookup(n); fl == nil {
			fl = cmd.InheritedFlags().ShorthandLookup(n)
		}
	}
	return fl != nil && fl.NoOptDefVal == ""
}

func child(c *cobra.Command, name string) *cobra.Command {
	for _, sub := range c.Commands() {
		if sub.Name() == name || sub.HasAlias(name) {
			return sub
		}
	}
	return nil
}

// TestDocsAgreeWithHelp keeps the docs and --help in agreement: every command line the
// docs show names a real command with real flags, and every command --help lists is
// documented.
func TestDocsAgreeWithHelp(t *testing.T) {
	t.Parallel()
	root := newRoot()
	docs := docFiles(t)
	documented := map[string]bool{}
	for name, text := range docs {
		for _, frags := range docInvocations(text) {
			line := strings.Join(frags, " ")
			cmds, flags := resolve(root, frags)
			for i, cmd := range cmds {
				if cmd == nil {
					t.Errorf("%s: %q names no command", name, line)
					continue
				}
				for c := cmd; c != nil; c = c.Parent() {
					documented[c.CommandPath()] = true
				}
				for _, f := range flags[i] {
					if f == "--help" || f == "-h" {
						continue
					}
					n := strings.TrimLeft(f, "-")
					var found bool
					if strings.HasPrefix(f, "--") {
						found = cmd.Flags().Lookup(n) != nil || cmd.InheritedFlags().Lookup(n) != nil
					} else {
						found = cmd.Flags().ShorthandLookup(n) != nil || cmd.InheritedFlags().ShorthandLookup(n) != nil
					}
					if !found {
						t.Errorf("%s: %q: %s has no flag %s", name, line, cmd.CommandPath(), f)
					}
				}
			}
		}
	}
	for _, c := range commands(root) {
		if c == root || c.Hidden || !c.IsAvailableCommand() || c.Name() == "help" || (c.Parent() != nil && c.Parent().Name() == "completion") {
			continue
		}
		if !documented[c.CommandPath()] {
			t.Errorf("%s is in --help but no doc shows it (README.md, docs/*.md)", c.CommandPath())
		}
	}
}

// TestReadmeIsAFrontPage: the README stays short and links every guide.
func TestReadmeIsAFrontPage(t *testing.T) {
	t.Parallel()
	docs := docFiles(t)
	readme := docs["README.md"]
	require.Less(t, strings.Count(readme, "\n"), 250, "README.md is a front page; put details in docs/")
	for name := range docs {
		// Guides are lower-case; upper-case files (STYLE-ADDITIONS.md) are notes for contributors.
		if name != "README.md" && name == strings.ToLower(name) && !strings.Contains(readme, "(docs/"+name) {
			t.Errorf("README.md does not link the guide docs/%s", name)
		}
	}
}
