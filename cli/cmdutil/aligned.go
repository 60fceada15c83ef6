package cmdutil

import (
	"bufio"
	"io"
	"unicode/utf8"
)

// AlignedTable prints what f.Table's tabwriter prints (columns padded by two spaces,
// the last column unpadded) for tables of thousands of rows: it keeps each row's cells
// once, measures the columns, and writes through one buffer, several times faster
// than text/tabwriter, which works cell by cell through fmt.
type AlignedTable struct {
	w      io.Writer
	rows   [][]string
	widths []int
}

// AlignedTable starts a table like Table, for thousands of rows.
func (f *Factory) AlignedTable(header ...string) *AlignedTable {
	t := &AlignedTable{w: f.IO.Out, widths: make([]int, len(header))}
	if !f.Flags.NoHeaders {
		t.Row(header...)
	}
	return t
}

// Row adds a row; cells must not contain tabs or newlines (as with tabwriter).
func (t *AlignedTable) Row(cells ...string) {
	for i, c := range cells {
		if i == len(cells)-1 {
			break // the last cell is not aligned
		}
		if i >= len(t.widths) {
			t.widths = append(t.widths, 0)
		}
		if n := utf8.RuneCountInString(c); n > t.widths[i] {
			t.widths[i] = n
		}
	}
	t.rows = append(t.rows, cells)
}

// Flush writes every row.
func (t *AlignedTable) Flush() error {
	w := bufio.NewWriterSize(t.w, 64<<10)
	const pad = 2
	var spaces [256]byte
	for i := range spaces {
		spaces[i] = ' '
	}
	for _, r := range t.rows {
		for i, c := range r {
			_, _ = w.WriteString(c) // a bufio.Writer keeps its first error for Flush
			if i == len(r)-1 {
				break
			}
			for n := t.widths[i] + pad - utf8.RuneCountInString(c); n > 0; {
				k := min(n, len(spaces))
				_, _ = w.Write(spaces[:k])
				n -= k
			}
		}
		_ = w.WriteByte('\n')
	}
	t.rows = nil
	return w.Flush()
}
