// Package data reads and writes the tabular files every dawn command takes:
// CSV, TSV, JSON Lines, Parquet and Arrow IPC, as streams of Arrow record
// batches so that inputs larger than memory work.
//
// Open picks the format from the file extension (or Options.Format), infers a
// schema from the first Options.InferRows rows of a text format unless one is
// given (Options.Schema, or Options.Types for single columns), and yields
// batches of at most Options.BatchSize rows; nothing but the current batch,
// one batch read ahead and the inference sample is held in memory. Parquet is
// read row group by row group through pqarrow; Arrow IPC files batch by batch.
//
// CSV is read by a hand-written RFC 4180 scanner (quoted fields, doubled
// quotes, quoted line breaks, CRLF, a UTF-8 byte-order mark) that copies
// values straight from a large read buffer into the Arrow column buffers, and
// text formats are parsed one batch ahead on a second goroutine when there is
// a second core. Blank lines are skipped; a quoted \r\n inside a field is
// kept as it is.
//
// Create writes CSV, TSV, JSON Lines, Parquet or Arrow IPC (by extension) to
// a temporary file next to the destination and renames it into place on
// Close, so a failed or interrupted write never leaves a partial output.
//
// Every error about the content of a file is an *Error naming the file, the
// 1-based data row (the header is row 0; for JSON Lines, the line number) and
// the column, and bad input never panics.
package data
