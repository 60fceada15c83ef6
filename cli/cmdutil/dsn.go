package cmdutil

import (
	"io"
	"os"
	"strings"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// ReadDSN resolves a --dsn/--dsn-file pair: "-" reads the DSN from stdin and a file
// holds it, so a password need not appear on the command line (and in ps output).
func (f *Factory) ReadDSN(dsn, file string) (string, error) {
	if file != "" && dsn != "" {
		return "", validate.Errorf("give --dsn or --dsn-file, not both")
	}
	if file == "" && dsn != "-" {
		return dsn, nil
	}
	return readDSN(f.IO.In, file)
}

// ReadDSNSource reads a DSN from --dsn-file or --dsn-stdin ("" when neither is given).
func ReadDSNSource(in io.Reader, file string, stdin bool) (string, error) {
	if file != "" && stdin {
		return "", validate.Errorf("give --dsn-file or --dsn-stdin, not both")
	}
	if file == "" && !stdin {
		return "", nil
	}
	dsn, err := readDSN(in, file)
	if err == nil && dsn == "" {
		err = validate.Errorf("the DSN read is empty")
	}
	return dsn, err
}

// readDSN reads a DSN, trimmed, from file, or from in when file is "".
func readDSN(in io.Reader, file string) (string, error) {
	var raw []byte
	var err error
	if file != "" {
		raw, err = os.ReadFile(file)
	} else {
		raw, err = io.ReadAll(io.LimitReader(in, 64<<10))
	}
	if err != nil {
		return "", validate.Errorf("read DSN: %v", err)
	}
	return strings.TrimSpace(string(raw)), nil
}
