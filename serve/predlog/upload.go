package predlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Uploader stores a completed file as one object under name. Put must make
// the object visible whole or not at all (an S3 PUT does), so readers of
// the destination only ever see whole files. artifact.Repo, and so
// artifact/s3's Repo, is an Uploader.
type Uploader interface {
	Put(ctx context.Context, name string, r io.Reader) error
}

// uploader moves completed files from the spool directory to the
// destination. It runs beside the writer goroutine, so a slow or
// unreachable store delays neither the writer nor the request path: files
// wait in the spool until an upload succeeds.
type uploader struct {
	dest     Uploader
	name     string // the destination, for messages (s3://bucket/prefix)
	spool    string
	attempts int
	backoff  time.Duration
	every    time.Duration
	timeout  time.Duration
	final    time.Duration
	log      *slog.Logger

	kick   chan struct{} // a file was completed (capacity 1: kicks coalesce)
	ctx    context.Context
	cancel context.CancelFunc // Close: stop the background passes
	done   chan struct{}
	err    error // what the final pass left behind; read after done

	errs, uploaded prometheus.Counter
	spooled        prometheus.Gauge
}

func (u *uploader) start() {
	u.kick = make(chan struct{}, 1)
	u.done = make(chan struct{})
	u.ctx, u.cancel = context.WithCancel(context.Background())
	go u.run()
}

// notify tells the uploader a file is ready; it never blocks.
func (u *uploader) notify() {
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// close stops the background passes, makes a last one bounded by u.final
// and returns what it could not upload.
func (u *uploader) close() error {
	u.cancel()
	<-u.done
	return u.err
}

func (u *uploader) run() {
	defer close(u.done)
	t := time.NewTicker(u.every)
	defer t.Stop()
	u.pass(u.ctx) // files an earlier run left in the spool
	for {
		select {
		case <-u.ctx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), u.final)
			u.err = u.pass(ctx)
			cancel()
			return
		case <-u.kick:
		case <-t.C:
		}
		u.pass(u.ctx)
	}
}

// pending lists the completed files in the spool, oldest first (names
// start with their creation time); temporary files start with a dot.
func (u *uploader) pending() ([]string, error) {
	ents, err := os.ReadDir(u.spool)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if n := e.Name(); e.Type().IsRegular() && !strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".parquet") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// pass uploads the spooled files in order. It stops at the first file
// that still fails after its attempts (the store is likely down; the rest
// wait for the next pass) or when ctx ends, and returns an error naming
// what is left.
func (u *uploader) pass(ctx context.Context) error {
	names, err := u.pending()
	if err != nil {
		u.errs.Inc()
		u.log.Error("predlog: cannot list the spool", "spool", u.spool, "err", err)
		return fmt.Errorf("predlog: list spool %s: %w", u.spool, err)
	}
	u.spooled.Set(float64(len(names)))
	for i, name := range names {
		if err := u.upload(ctx, name); err != nil {
			return fmt.Errorf("predlog: %d file(s) not uploaded to %s, kept in %s for the next start: %s: %w",
				len(names)-i, u.name, u.spool, name, err)
		}
		u.spooled.Set(float64(len(names) - i - 1))
	}
	return nil
}

// upload puts one spooled file, retrying with doubling waits, and removes
// it once stored. A file gone from the spool was taken by another process
// sharing it and is not an error.
func (u *uploader) upload(ctx context.Context, name string) error {
	path := filepath.Join(u.spool, name)
	wait := u.backoff
	for attempt := 1; ; attempt++ {
		err := u.put(ctx, path, name)
		if err == nil {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				// Stored but still spooled: the next pass stores it again
				// under the same name, which replaces it.
				u.errs.Inc()
				u.log.Error("predlog: uploaded file not removed from the spool", "file", path, "err", err)
			}
			u.uploaded.Inc()
			return nil
		}
		if errors.Is(err, errGone) {
			return nil
		}
		if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			return err // stopping: not the store's failure
		}
		u.errs.Inc()
		if ctx.Err() != nil {
			return err // the store failed, and we are stopping: no retry now
		}
		u.log.Warn("predlog: upload failed", "file", path, "dest", u.name+"/"+name, "attempt", attempt, "of", u.attempts, "err", err)
		if attempt >= u.attempts {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
		wait *= 2
	}
}

// errGone: the spooled file was removed before it could be read.
var errGone = errors.New("predlog: spooled file gone")

func (u *uploader) put(ctx context.Context, path, name string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return errGone
	}
	if err != nil {
		return err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(ctx, u.timeout)
	defer cancel()
	return u.dest.Put(ctx, name, f)
}

// defaultSpool is where files for dest wait for upload when no spool is
// given: a directory per destination under the user's cache directory, so
// a restarted server finds and uploads what the last one left.
func defaultSpool(dest string) string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "dawn", "predlog-spool", url.PathEscape(strings.TrimPrefix(dest, "s3://")))
}
