package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dawn-ml/dawn/data"
)

// defaultLogSample is how many rows `dawn label run` logs as sample.csv.
const defaultLogSample = 1000

// maxLogSample bounds --log-sample (the console reads samples up to 64 MiB).
const maxLogSample = 100_000

// logDataSample writes the first n rows of path as sample.csv and logs it
// as an artifact of the run.
func logDataSample(ctx context.Context, al *autolog, path string, n int, df *dataFlags) error {
	if n > maxLogSample {
		return usagef("--log-sample: at most %d rows, got %d", maxLogSample, n)
	}
	opt, err := df.options()
	if err != nil {
		return err
	}
	rd, err := data.Open(path, opt)
	if err != nil {
		return err
	}
	defer rd.Close()
	tmp, err := os.MkdirTemp("", "dawn-sample-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "sample.csv")
	w, err := data.Create(out, rd.Schema(), data.WriteOptions{})
	if err != nil {
		return err
	}
	for left := int64(n); left > 0; {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.Abort()
			return err
		}
		if rec.NumRows() > left {
			part := rec.NewSlice(0, left)
			rec.Release()
			rec = part
		}
		left -= rec.NumRows()
		err = w.Write(rec)
		rec.Release()
		if err != nil {
			w.Abort()
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := al.artifact(ctx, out, ""); err != nil {
		return fmt.Errorf("tracking: log data sample: %w", err)
	}
	return nil
}
