package cmdutil

import (
	"bytes"
	"strings"
	"testing"
	"text/tabwriter"
)

// TestAlignedTableMatchesTabwriter: the fast table prints byte for byte what the
// tabwriter behind f.Table prints.
func TestAlignedTableMatchesTabwriter(t *testing.T) {
	rows := [][]string{
		{"SLUG", "NAME", "DOMAIN", "VERSION"},
		{"acme", "Acme Straße GmbH", "acme.example", "3"},
		{"b", "", "b.example", "12"},
		{"a-very-long-slug-indeed", "Ünïcödé", "x", ""},
		{"c", "C", "c.example", "7"},
	}
	for _, noHeaders := range []bool{false, true} {
		var want, got bytes.Buffer
		tw := tabwriter.NewWriter(&want, 0, 0, 2, ' ', 0)
		f := NewTest()
		f.IO.Out = &got
		f.Flags.NoHeaders = noHeaders
		at := f.AlignedTable(rows[0]...)
		for i, r := range rows {
			if i > 0 || !noHeaders {
				tw.Write([]byte(strings.Join(r, "\t") + "\n"))
			}
			if i > 0 {
				at.Row(r...)
			}
		}
		if err := tw.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := at.Flush(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("noHeaders=%v:\n got %q\nwant %q", noHeaders, got.String(), want.String())
		}
	}
}
