package video

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dawn-ml/dawn/video/haar"
)

// The HTTP reference sends the frame through the scoring protocol and
// reads the count back: here a server that counts the frame's bright
// pixels.
func TestHTTPReference(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			DF struct {
				Columns []string `json:"columns"`
				Data    [][]any  `json:"data"`
			} `json:"dataframe_split"`
		}
		if r.URL.Path != "/invocations" || json.NewDecoder(r.Body).Decode(&req) != nil || len(req.DF.Data) != 1 || len(req.DF.Columns) != 4 || req.DF.Columns[3] != "pixels" {
			http.Error(w, "bad request", 400)
			return
		}
		px, err := base64.StdEncoding.DecodeString(req.DF.Data[0][3].(string))
		if err != nil {
			http.Error(w, "bad pixels", 400)
			return
		}
		n := 0
		for _, v := range px {
			if v > 200 {
				n++
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"predictions": []int{n}})
	}))
	defer srv.Close()
	r := NewHTTPReference(srv.URL)
	g := &haar.Gray{W: 4, H: 2, Pix: []uint8{255, 0, 255, 0, 0, 201, 0, 0}}
	n, err := r.Count(t.Context(), 7, g)
	if err != nil || n != 3 {
		t.Fatalf("count %d, %v; want 3", n, err)
	}
	if r.Cost() <= 0 || r.Describe() != "http:"+srv.URL+"/invocations" {
		t.Errorf("cost %v, describe %q", r.Cost(), r.Describe())
	}
	if _, err := r.Count(t.Context(), 7, nil); err == nil {
		t.Error("no frame: no error")
	}
}
