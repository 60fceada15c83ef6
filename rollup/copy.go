package rollup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/jackc/pgerrcode"
	"github.com/tenantctl/tenantctl/internal/dbconn"
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
//
// ready, when not nil, runs on the destination connection before its COPY while the
// source's COPY already streams (into the pipe, which holds it until the destination
// reads): the statements queued before the COPY (a transaction's BEGIN and deletes, a
// staging table) cost no round trip of their own on the way to the first row. Its error
// is returned as it is, the source stopped.
func pipe(ctx context.Context, src, dst *pgconn.PgConn, copyTo, copyFrom string, ready func(context.Context) error) (int64, error) {
	pr, pw := io.Pipe()
	// Cancelled when the destination gives up, so a source waiting on its server stops
	// too instead of holding the run until ctx ends.
	srcCtx, cancelSrc := context.WithCancel(ctx)
	defer cancelSrc()
	srcDone := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(pw, pipeBuffer)
		_, err := src.CopyTo(srcCtx, bw, copyTo)
		if err == nil {
			err = bw.Flush()
		}
		// A nil error closes the pipe with io.EOF: the end of the data.
		pw.CloseWithError(err)
		srcDone <- err
	}()
	var tag pgconn.CommandTag
	var readyErr, dstErr error
	if ready != nil {
		readyErr = ready(ctx)
		dstErr = readyErr
	}
	if dstErr == nil {
		tag, dstErr = dst.CopyFrom(ctx, pr, copyFrom)
	}
	pr.CloseWithError(errReaderGone) // unblocks the writer when the destination gave up early
	if dstErr != nil {
		cancelSrc()
	}
	srcErr := <-srcDone
	// The source's error is a consequence of the destination's when the destination
	// stopped reading or this function cancelled the source (pgconn reports that as
	// context.Canceled, or as the server's 57014 when the cancel request won the race).
	cancelledHere := dstErr != nil && ctx.Err() == nil &&
		(errors.Is(srcErr, context.Canceled) || dbconn.HasCode(srcErr, pgerrcode.QueryCanceled))
	stoppedByDst := errors.Is(srcErr, errReaderGone) || cancelledHere
	switch {
	case srcErr != nil && !stoppedByDst:
		// The source failed first; the destination only saw its stream end.
		return 0, fmt.Errorf("read from tenant: %w", srcErr)
	case readyErr != nil:
		return 0, readyErr
	case dstErr != nil:
		return 0, fmt.Errorf("write to warehouse: %w", dstErr)
	case srcErr != nil:
		return 0, srcErr
	}
	return tag.RowsAffected(), nil
}
