package storetest

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func testArtifacts(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	run := newRun(t, c, exp)
	base := c.base + "/api/2.0/mlflow-artifacts/artifacts/" + exp + "/" + run + "/artifacts/"
	put := func(p, body string) int {
		req, _ := http.NewRequest("PUT", base+p, strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	eq(t, "put", put("model/MLmodel", "flavors: {}\n"), 200)
	eq(t, "put", put("model/weights.bin", strings.Repeat("w", 1000)), 200)
	eq(t, "put", put("notes.txt", "hi"), 200)
	t.Run("list via tracking API", func(t *testing.T) {
		c := c.For(t)
		b := c.OK("GET", api+"artifacts/list", url.Values{"run_id": {run}})
		eq(t, "root_uri", str(b["root_uri"]), "mlflow-artifacts:/"+exp+"/"+run+"/artifacts")
		files := list(b["files"])
		eq(t, "files", len(files), 2)
		eq(t, "dir", str(obj(files[0])["path"]), "model")
		eq(t, "is_dir", obj(files[0])["is_dir"], any(true))
		eq(t, "file", str(obj(files[1])["path"]), "notes.txt")
		eq(t, "size", num(obj(files[1])["file_size"]), 2.0)
		b = c.OK("GET", api+"artifacts/list", url.Values{"run_id": {run}, "path": {"model"}})
		files = list(b["files"])
		eq(t, "nested", str(obj(files[1])["path"]), "model/weights.bin")
		eq(t, "nested size", num(obj(files[1])["file_size"]), 1000.0)
		c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", api+"artifacts/list", url.Values{"run_id": {run}, "path": {"../.."}})
	})
	t.Run("proxy list and download", func(t *testing.T) {
		c := c.For(t)
		b := c.OK("GET", "/api/2.0/mlflow-artifacts/artifacts", url.Values{"path": {exp + "/" + run + "/artifacts/model"}})
		files := list(b["files"])
		eq(t, "proxy list", len(files), 2)
		eq(t, "basename", str(obj(files[0])["path"]), "MLmodel")
		res, err := http.Get(base + "model/weights.bin")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		eq(t, "status", res.StatusCode, 200)
		if !bytes.Equal(body, []byte(strings.Repeat("w", 1000))) {
			t.Fatal("downloaded content differs")
		}
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", "/api/2.0/mlflow-artifacts/artifacts/"+exp+"/nope.bin", nil)
	})
	t.Run("get-artifact", func(t *testing.T) {
		c := c.For(t)
		res, err := http.Get(c.base + "/get-artifact?" + url.Values{"run_id": {run}, "path": {"model/weights.bin"}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(body) != strings.Repeat("w", 1000) {
			t.Fatalf("get-artifact: %d, %d bytes", res.StatusCode, len(body))
		}
		r := c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", "/get-artifact", url.Values{"run_id": {run}, "path": {"../path"}})
		eq(t, "message", str(r.Body["message"]), "Invalid path")
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", "/get-artifact", url.Values{"run_id": {run}, "path": {"nope.txt"}})
	})
	t.Run("path traversal", func(t *testing.T) {
		c := c.For(t)
		for _, p := range []string{"/api/2.0/mlflow-artifacts/artifacts/../../etc/passwd", "/api/2.0/mlflow-artifacts/artifacts/a/%2e%2e/%2e%2e/x", "/api/2.0/mlflow-artifacts/artifacts/a%2F..%2F..%2Fx"} {
			for _, m := range []string{"GET", "PUT", "DELETE"} {
				req, _ := http.NewRequest(m, c.base+p, strings.NewReader("x"))
				r := c.send(req)
				if r.Status != 400 || r.Body["error_code"] != "INVALID_PARAMETER_VALUE" {
					t.Fatalf("%s %s: %d %s", m, p, r.Status, r.Raw)
				}
			}
		}
		c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", "/api/2.0/mlflow-artifacts/artifacts", url.Values{"path": {"../x"}})
	})
	t.Run("delete", func(t *testing.T) {
		c := c.For(t)
		c.OK("DELETE", "/api/2.0/mlflow-artifacts/artifacts/"+exp+"/"+run+"/artifacts/notes.txt", nil)
		b := c.OK("GET", api+"artifacts/list", url.Values{"run_id": {run}})
		eq(t, "after delete", len(list(b["files"])), 1)
	})
}

// testUploadArtifact: the UI's upload-artifact, read back with get-artifact.
func testUploadArtifact(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	run := newRun(t, c, exp)
	up := func(q url.Values, body string) Resp {
		t.Helper()
		req, _ := http.NewRequest("POST", c.base+"/ajax-api/2.0/mlflow/upload-artifact?"+q.Encode(), strings.NewReader(body))
		return c.send(req)
	}
	for _, tc := range []struct {
		q    url.Values
		body string
		msg  string
	}{
		{url.Values{}, "x", "Request must specify run_uuid."},
		{url.Values{"run_uuid": {run}}, "x", "Request must specify path."},
		{url.Values{"run_uuid": {run}, "path": {"../test.txt"}}, "x", "Invalid path"},
		{url.Values{"run_uuid": {run}, "path": {"test.txt"}}, "", "Request must specify data."},
		{url.Values{"run_uuid": {run}, "path": {"big.bin"}}, strings.Repeat("x", 10<<20+1), "too large"},
	} {
		r := up(tc.q, tc.body)
		if r.Status != 400 || r.Body["error_code"] != "INVALID_PARAMETER_VALUE" || !strings.Contains(str(r.Body["message"]), tc.msg) {
			t.Fatalf("upload %v: %d %s, want 400 with %q", tc.q, r.Status, r.Raw, tc.msg)
		}
	}
	if r := up(url.Values{"run_uuid": {run}, "path": {"dir/test.txt"}}, "hello world"); r.Status != 200 {
		t.Fatalf("upload: %d %s", r.Status, r.Raw)
	}
	res, err := http.Get(c.base + "/get-artifact?" + url.Values{"run_uuid": {run}, "path": {"dir/test.txt"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	eq(t, "read back", res.StatusCode, 200)
	eq(t, "content", string(b), "hello world")
}
