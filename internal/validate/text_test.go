package validate

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlainText(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"Acme Corp", "Müller & Söhne GmbH", "株式会社アクメ", "שלום עולם", "INC-4711: disk full 👩‍💻"} {
		require.NoError(t, PlainText("name", ok), ok)
	}
	for _, bad := range []string{
		"Acme\x1b[2J",              // ANSI: clear screen
		"Acme\x1b]8;;http://x\x07", // OSC 8 hyperlink
		"line\nbreak", "tab\there", "nul\x00", "del\x7f", "c1\u0085",
		"Acme \u202egnp.exe", "\u2066isolate\u2069", "mark\u200f", "\u061carabic mark",
		"bad \xff utf8",
	} {
		err := PlainText("name", bad)
		require.ErrorIs(t, err, ErrInvalid, "%q", bad)
	}
}
