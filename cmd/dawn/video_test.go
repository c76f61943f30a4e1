package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/internal/shareddata"
)

func TestVideoQueryCommand(t *testing.T) {
	d := shareddata.Require(t, "opencv-vtest")
	code, out, errb := runDawn(t, "video", "query", "--video", filepath.Join(d, "vtest_96x72_gray.raw"), "--size", "96x72",
		"--reference-boxes", filepath.Join(d, "vtest_fullbody_opencv.csv"), "--reference-seconds", "0.17",
		"--sql", "SELECT frame FROM video WHERE count(person) >= 7 LIMIT 10", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	var a struct {
		Frames         int     `json:"frames"`
		ReferenceCalls int     `json:"reference_calls"`
		Selected       []int   `json:"frames_selected"`
		Speedup        float64 `json:"speedup"`
		Seconds        float64 `json:"seconds"`
	}
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatal(err)
	}
	if a.Frames != 795 || len(a.Selected) != 10 || a.ReferenceCalls >= 795 || a.Speedup <= 1 || a.Seconds <= 0 {
		t.Errorf("%+v", a)
	}
}

func TestVideoCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"video", "query", "--video", "x.avi"}, "--sql"},
		{[]string{"video", "query", "--video", "x.avi", "--reference", "c.xml", "--sql", "SELECT nothing"}, "frameql"},
		{[]string{"video", "detect", "--video", "x.avi"}, "--cascade"},
		{[]string{"video", "detect", "--video", "missing.avi", "--cascade", "missing.xml", "--out", "o.csv"}, "missing.xml"},
	} {
		code, _, errb := runDawn(t, tc.args...)
		if code == 0 || !strings.Contains(errb, tc.want) {
			t.Errorf("%v: exit %d, %q; want an error naming %q", tc.args, code, errb, tc.want)
		}
	}
}
