package s3_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/artifact/artifacttest"
	"github.com/dawn-ml/dawn/artifact/s3"
	"github.com/dawn-ml/dawn/artifact/s3/s3test"
)

func open(t *testing.T, endpoint, bucket string) *s3.Repo {
	t.Helper()
	repo, err := s3.Open(t.Context(), "s3://"+bucket+"/prefix/x", s3test.Options(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func TestS3(t *testing.T) {
	endpoint := s3test.Start(t)
	s3test.CreateBucket(t, endpoint, "dawn")
	repo := open(t, endpoint, "dawn")
	repo.PartSize = 5 << 20
	artifacttest.Run(t, repo, 12<<20) // three parts: 5 + 5 + 2 MiB
}

// zeros is an endless reader of a pattern, to stream big uploads without
// holding them.
type pattern struct{ n, size int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.n >= p.size {
		return 0, io.EOF
	}
	k := int64(len(b))
	if rem := p.size - p.n; rem < k {
		k = rem
	}
	for i := range k {
		b[i] = byte((p.n + i) % 251)
	}
	p.n += k
	return int(k), nil
}

// TestS3TwoGB round-trips a 2 GB artifact through multipart upload and a
// streamed download. It writes 2 GB to disk, so it runs only when
// DAWN_TEST_BIG=1.
func TestS3TwoGB(t *testing.T) {
	if os.Getenv("DAWN_TEST_BIG") == "" || testing.Short() {
		t.Skip("set DAWN_TEST_BIG=1 to round-trip a 2 GB artifact")
	}
	endpoint := s3test.Start(t)
	s3test.CreateBucket(t, endpoint, "big")
	repo := open(t, endpoint, "big")
	const size = 2 << 30
	if err := repo.Put(t.Context(), "model.bin", &pattern{size: size}); err != nil {
		t.Fatal(err)
	}
	rc, n, err := repo.Open(t.Context(), "model.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if n != size {
		t.Fatalf("size %d, want %d", n, size)
	}
	want := &pattern{size: size}
	a, b := make([]byte, 1<<20), make([]byte, 1<<20)
	var off int64
	for {
		k, err := io.ReadFull(rc, a)
		if k > 0 {
			want.Read(b[:k])
			for i := range k {
				if a[i] != b[i] {
					t.Fatalf("byte %d differs", off+int64(i))
				}
			}
			off += int64(k)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if off != size {
		t.Fatal(fmt.Sprintf("read %d bytes, want %d", off, size))
	}
}

// TestProxyMultipart drives MLflow's mpu/ endpoints: the server presigns
// part URLs, the client PUTs the parts straight to S3 and completes.
func TestProxyMultipart(t *testing.T) {
	endpoint := s3test.Start(t)
	s3test.CreateBucket(t, endpoint, "mpu")
	repo := open(t, endpoint, "mpu")
	srv := httptest.NewServer(artifact.Handler(repo, 0, nil))
	defer srv.Close()
	post := func(verb string, body any, out any) int {
		b, _ := json.Marshal(body)
		res, err := http.Post(srv.URL+"/api/2.0/mlflow-artifacts/mpu/"+verb+"/1/run/artifacts/model.bin", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if out != nil {
			json.NewDecoder(res.Body).Decode(out)
		}
		return res.StatusCode
	}
	var created struct {
		UploadID    string             `json:"upload_id"`
		Credentials []artifact.PartURL `json:"credentials"`
	}
	if code := post("create", map[string]any{"path": "model.bin", "num_parts": 2}, &created); code != 200 || len(created.Credentials) != 2 {
		t.Fatalf("create: %d %+v", code, created)
	}
	part := [][]byte{bytes.Repeat([]byte("a"), 5<<20), []byte("tail")}
	var done []artifact.CompletedPart
	for i, c := range created.Credentials {
		req, _ := http.NewRequest("PUT", c.URL, bytes.NewReader(part[i]))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("part %d: %d", c.PartNumber, res.StatusCode)
		}
		done = append(done, artifact.CompletedPart{PartNumber: c.PartNumber, ETag: res.Header.Get("ETag")})
	}
	if code := post("complete", map[string]any{"upload_id": created.UploadID, "parts": done}, nil); code != 200 {
		t.Fatalf("complete: %d", code)
	}
	rc, n, err := repo.Open(t.Context(), "1/run/artifacts/model.bin")
	if err != nil || n != 5<<20+4 {
		t.Fatalf("open: %d, %v", n, err)
	}
	rc.Close()
	if code := post("create", map[string]any{"num_parts": 1}, &created); code != 200 {
		t.Fatalf("second create: %d", code)
	}
	if code := post("abort", map[string]any{"upload_id": created.UploadID}, nil); code != 200 {
		t.Fatalf("abort: %d", code)
	}
	local, _ := artifact.NewLocal(t.TempDir())
	lsrv := httptest.NewServer(artifact.Handler(local, 0, nil))
	defer lsrv.Close()
	res, err := http.Post(lsrv.URL+"/api/2.0/mlflow-artifacts/mpu/create/x.bin", "application/json", strings.NewReader(`{"num_parts":1}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 501 {
		t.Fatalf("local multipart: %d, want 501", res.StatusCode)
	}
}
