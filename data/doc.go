// Package data reads and writes the tabular files every dawn command takes:
// CSV, TSV, JSON Lines, Parquet and Arrow IPC, as streams of Arrow record
// batches so that inputs larger than memory work.
//
// Open picks the format from the file extension (or Options.Format), infers a
// schema from the first rows unless one is given, and yields batches of at
// most Options.BatchSize rows. Create writes CSV or Parquet (by extension) to a
// temporary file next to the destination and renames it into place on Close,
// so a failed or interrupted write never leaves a partial output behind.
//
// Every error about the content of a file is an *Error naming the file, the
// 1-based data row (the header is row 0) and the column.
package data
