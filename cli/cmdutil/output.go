package cmdutil

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
	OutputText     = "text"
	OutputJSON     = "json"
	OutputYAML     = "yaml"
	OutputMarkdown = "markdown"
)

// AnnotOutputs lists, comma-separated, the extra -o formats a command offers beyond
// text, json and yaml (e.g. "markdown").
const AnnotOutputs = "outputs"

// outputChoices returns the -o values cmd accepts.
func outputChoices(cmd *cobra.Command) []string {
	out := []string{OutputText, OutputJSON, OutputYAML}
	if extra := cmd.Annotations[AnnotOutputs]; extra != "" {
		out = append(out, strings.Split(extra, ",")...)
	}
	return out
}

// CheckOutput refuses an -o value the command does not offer, listing the ones it does.
func CheckOutput(cmd *cobra.Command, value string) error {
	choices := outputChoices(cmd)
	if slices.Contains(choices, value) {
		return nil
	}
	return validate.Errorf("invalid --output %q for %s: use %s", value, cmd.CommandPath(), OrList(choices))
}

// OrList renders choices as "a, b or c".
func OrList(choices []string) string {
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
	return validate.Errorf("invalid --%s %q: use %s", flag, value, OrList(choices))
}

// Structured reports whether -o asks for json or yaml.
func (f *Factory) Structured() bool {
	return f.Flags.Output == OutputJSON || f.Flags.Output == OutputYAML
}

// PrintStructured prints v as JSON or, with -o yaml, as YAML with the same field names.
func (f *Factory) PrintStructured(v any) error {
	if f.Flags.Output == OutputYAML {
		return writeYAML(f.IO.Out, v)
	}
	enc := json.NewEncoder(f.IO.Out)
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
	return JSONToYAML(w, b)
}

// JSONToYAML re-encodes a JSON document as block-style YAML, keeping key order.
func JSONToYAML(w io.Writer, b []byte) error {
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
