package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// Output formats. Every command that reads or reports prints text (aligned columns),
// json or yaml (the same fields); a few also offer markdown, and say so in their help.
const (
	outputText     = "text"
	outputJSON     = "json"
	outputYAML     = "yaml"
	outputMarkdown = "markdown"
)

// annotOutputs lists, comma-separated, the extra -o formats a command offers beyond
// text, json and yaml (e.g. "markdown").
const annotOutputs = "outputs"

// outputChoices returns the -o values cmd accepts.
func outputChoices(cmd *cobra.Command) []string {
	out := []string{outputText, outputJSON, outputYAML}
	if extra := cmd.Annotations[annotOutputs]; extra != "" {
		out = append(out, strings.Split(extra, ",")...)
	}
	return out
}

// checkOutput refuses an -o value the command does not offer, listing the ones it does.
func checkOutput(cmd *cobra.Command, value string) error {
	choices := outputChoices(cmd)
	if slices.Contains(choices, value) {
		return nil
	}
	return validate.Errorf("invalid --output %q for %s: use %s", value, cmd.CommandPath(), orList(choices))
}

// orList renders choices as "a, b or c".
func orList(choices []string) string {
	if len(choices) == 1 {
		return choices[0]
	}
	return strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
}

// enumFlag checks a flag value against its allowed values ("" is allowed when optional).
func enumFlag(flag, value string, optional bool, choices ...string) error {
	if (optional && value == "") || slices.Contains(choices, value) {
		return nil
	}
	return validate.Errorf("invalid --%s %q: use %s", flag, value, orList(choices))
}

// structured reports whether -o asks for json or yaml.
func (a *app) structured() bool {
	return a.flags.output == outputJSON || a.flags.output == outputYAML
}

// printStructured prints v as JSON or, with -o yaml, as YAML with the same field names.
func (a *app) printStructured(v any) error {
	if a.flags.output == outputYAML {
		return writeYAML(a.out, v)
	}
	enc := json.NewEncoder(a.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeYAML writes v as YAML, through its JSON form so the field names and omissions are
// exactly those of -o json, in the same order.
func writeYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return jsonToYAML(w, b)
}

// jsonToYAML re-encodes a JSON document as block-style YAML, keeping key order.
func jsonToYAML(w io.Writer, b []byte) error {
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("convert to yaml: %w", err)
	}
	blockStyle(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func blockStyle(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle
	if n.Kind == yaml.ScalarNode && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		// JSON quotes every string; YAML needs quotes only where a plain scalar would be
		// read as something else, and the encoder adds them there.
		n.Style &^= yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// finishTree installs completions (wireNames) and gives every command group a behaviour for arguments it does not know: an
// unknown subcommand is bad usage (exit 2) naming the real ones, instead of cobra's
// default of printing the parent's help and exiting 0. With no argument a group still
// prints its help.
func (a *app) finishTree(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		a.wireNames(c)
		addExample(c)
		if c == root || !c.HasSubCommands() || c.Run != nil || c.RunE != nil {
			return
		}
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			var names []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name())
				}
			}
			return validate.Errorf("unknown command %q for %q: use %s", args[0], cmd.CommandPath(), orList(names))
		}
	}
	walk(root)
}
