package rollup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgconn"
)

// pipeBuffer is the write buffer between the two COPY streams. The server sends one
// CopyData message per row; handing each to an unbuffered io.Pipe costs a goroutine
// switch per row and a third of the throughput.
const pipeBuffer = 64 << 10

// errReaderGone unblocks the source side when the warehouse side stopped reading.
var errReaderGone = errors.New("warehouse side of the copy stopped")

// pipe streams the output of copyTo (a COPY … TO STDOUT on src) into copyFrom (a
// COPY … FROM STDIN on dst), row data passing through without being decoded: memory
// stays at one buffer whatever the number of rows. It returns the rows the destination
// took. When either side fails, both stop; a source connection whose stream was cut is
// closed by pgconn.
func pipe(ctx context.Context, src, dst *pgconn.PgConn, copyTo, copyFrom string) (int64, error) {
	pr, pw := io.Pipe()
	srcDone := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(pw, pipeBuffer)
		_, err := src.CopyTo(ctx, bw, copyTo)
		if err == nil {
			err = bw.Flush()
		}
		// A nil error closes the pipe with io.EOF: the end of the data.
		pw.CloseWithError(err)
		srcDone <- err
	}()
	tag, dstErr := dst.CopyFrom(ctx, pr, copyFrom)
	pr.CloseWithError(errReaderGone) // unblocks the writer when the destination gave up early
	srcErr := <-srcDone
	switch {
	case srcErr != nil && !errors.Is(srcErr, errReaderGone):
		// The source failed first; the destination only saw its stream end.
		return 0, fmt.Errorf("read from tenant: %w", srcErr)
	case dstErr != nil:
		return 0, fmt.Errorf("write to warehouse: %w", dstErr)
	case srcErr != nil:
		return 0, srcErr
	}
	return tag.RowsAffected(), nil
}
