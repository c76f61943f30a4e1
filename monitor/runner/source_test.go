package runner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/artifact/s3"
	"github.com/dawn-ml/dawn/artifact/s3/s3test"
)

// An s3://bucket/prefix source is followed like a directory: objects in
// name order (non-data and dot names skipped), windows across objects,
// and a restart resumes at the next window.
func TestS3Source(t *testing.T) {
	endpoint := s3test.Start(t)
	s3test.CreateBucket(t, endpoint, "logs")
	fx := newFixture(t)
	repo, err := s3.Open(t.Context(), "s3://logs/spam", s3test.Options(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	put := func(name string, n int, shift bool) {
		t.Helper()
		if err := repo.Put(t.Context(), name, strings.NewReader(rows(fx.rng, fx.t0, n, shift))); err != nil {
			t.Fatal(err)
		}
		fx.t0 += n
	}
	put("p-0001.csv", 1500, false)
	put("p-0002.csv", 1500, false)
	repo.Put(t.Context(), "README.txt", strings.NewReader("not data"))
	repo.Put(t.Context(), ".p-0003.csv", strings.NewReader("x\n1\n"))
	c := fx.config(t, "")
	c.Source.Path = "s3://logs/spam"
	r, out := fx.runner(t, c)
	r.S3 = s3test.Options(endpoint)
	if err := r.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if h := history(t, fx.store); len(h) != 1 || h[0].Rows != 2000 || r.queued != 1000 {
		t.Fatalf("%d windows, %d rows waiting: %s", len(h), r.queued, out)
	}
	// A new object, the shifted one: a restarted runner resumes from the
	// stored position (half of p-0002 re-read) and names the segment.
	put("p-0003.csv", 1000, true)
	r2, _ := fx.runner(t, c)
	r2.S3 = s3test.Options(endpoint)
	if err := r2.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	h := history(t, fx.store)
	if len(h) != 2 || h[1].Rows != 2000 {
		t.Fatalf("%d windows after the restart", len(h))
	}
	if want := fmt.Sprintf(`{"file":"s3://logs/spam/p-0003.csv","row":1000}`); r2.Position() != want {
		t.Errorf("position %s, want %s", r2.Position(), want)
	}
	if segs := h[1].Report.Segments; len(segs) == 0 || segs[0].Attributes["country"] != "CA" || segs[0].Attributes["version"] != "v3" {
		t.Errorf("segments of the shifted window: %+v", segs)
	}
	// A bucket that does not exist is a clear error.
	c.Source.Path = "s3://nobucket/x"
	r3, _ := fx.runner(t, c)
	r3.S3 = s3test.Options(endpoint)
	if err := r3.Step(t.Context(), false); err == nil || !strings.Contains(err.Error(), "s3: list") {
		t.Errorf("missing bucket: %v", err)
	}
}
