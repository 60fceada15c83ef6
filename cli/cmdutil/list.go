package cmdutil

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/tenantctl/tenantctl/catalog"
)

// ListFromStore is what a list command runs: it opens the catalog store, reads the rows
// with list and prints them as [PrintList] does (json or yaml of the rows, else a table
// with header, one line a row with the cells row gives).
func ListFromStore[T any](ctx context.Context, f *Factory, list func(*catalog.Store) ([]T, error), header []string, row func(T) []any) error {
	return f.WithStore(ctx, func(store *catalog.Store) error {
		rows, err := list(store)
		if err != nil {
			return err
		}
		return PrintList(f, rows, header, row)
	})
}

// LimitFlag declares --limit of a command listing the newest items first: at most def
// of them unless given ("most WHAT to show, newest first").
func LimitFlag(fl *pflag.FlagSet, limit *int, def int, what string) {
	fl.IntVar(limit, "limit", def, "most "+what+" to show, newest first")
}
