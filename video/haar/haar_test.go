package haar

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/internal/shareddata"
)

// The rotated integral image equals its definition, summed directly.
func TestTiltedIntegralMatchesDefinition(t *testing.T) {
	g := &Gray{W: 7, H: 5, Pix: make([]uint8, 35)}
	for i := range g.Pix {
		g.Pix[i] = uint8(i*37%251 + 1)
	}
	T := tiltedIntegral(g)
	for Y := 0; Y <= g.H; Y++ {
		for X := 0; X <= g.W; X++ {
			var want int32
			for y := 0; y < Y; y++ {
				for x := 0; x < g.W; x++ {
					d := x - X + 1
					if d < 0 {
						d = -d
					}
					if d <= Y-y-1 {
						want += int32(g.Pix[y*g.W+x])
					}
				}
			}
			if got := T[Y*(g.W+1)+X]; got != want {
				t.Fatalf("T(%d,%d) = %d, want %d", X, Y, got, want)
			}
		}
	}
}

func TestIntegrals(t *testing.T) {
	g := &Gray{W: 3, H: 2, Pix: []uint8{1, 2, 3, 4, 5, 6}}
	s, q := integrals(g)
	if s[2*4+3] != 21 || q[2*4+3] != 91 || s[1*4+2] != 3 {
		t.Fatalf("sum %v sq %v", s, q)
	}
}

func TestResizeIdentityAndHalving(t *testing.T) {
	g := &Gray{W: 4, H: 2, Pix: []uint8{0, 100, 200, 50, 10, 110, 210, 60}}
	if r := Resize(g, 4, 2); string(r.Pix) != string(g.Pix) {
		t.Fatalf("identity resize changed pixels: %v", r.Pix)
	}
	// Halving: source coordinate (d+0.5)·2−0.5 = 2d+0.5, the mean of a pair.
	r := Resize(g, 2, 1)
	if r.Pix[0] != 55 || r.Pix[1] != 130 {
		t.Fatalf("halved %v, want [55 130]", r.Pix)
	}
}

func TestGroupRectangles(t *testing.T) {
	rs := []Rect{{10, 10, 20, 40}, {11, 10, 20, 40}, {10, 11, 21, 40}, {12, 12, 20, 40}, {100, 100, 20, 40}}
	out := GroupRectangles(rs, 3, 0.2)
	// Four similar windows average to (10.75, 10.75, 20.25, 40) → rounded;
	// the lone window has too few neighbours.
	if len(out) != 1 || out[0] != (Rect{11, 11, 20, 40}) {
		t.Fatalf("grouped %v", out)
	}
	if got := GroupRectangles(rs, 4, 0.2); len(got) != 0 {
		t.Fatalf("threshold 4: %v", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ xml, want string }{
		{"<x/>", "not an OpenCV cascade"},
		{`<opencv_storage><cascade><stageType>BOOST</stageType><featureType>LBP</featureType></cascade></opencv_storage>`, "only HAAR"},
		{`<opencv_storage><cascade><stageType>BOOST</stageType><featureType>HAAR</featureType><height>4</height><width>4</width><featureParams><maxCatCount>0</maxCatCount></featureParams><stages><_><stageThreshold>0</stageThreshold><weakClassifiers><_><internalNodes>0 -1 3 0.5</internalNodes><leafValues>1 2</leafValues></_></weakClassifiers></_></stages><features><_><rects><_>0 0 2 2 -1.</_></rects></_></features></cascade></opencv_storage>`, "feature 3 of 1"},
		{`<opencv_storage><cascade><stageType>BOOST</stageType><featureType>HAAR</featureType><height>4</height><width>4</width><featureParams><maxCatCount>0</maxCatCount></featureParams><stages><_><stageThreshold>0</stageThreshold><weakClassifiers><_><internalNodes>0 -1 0 0.5</internalNodes><leafValues>1 2</leafValues></_></weakClassifiers></_></stages><features><_><rects><_>3 3 2 2 -1.</_></rects></_></features></cascade></opencv_storage>`, "leaves the 4×4 window"},
	} {
		if _, err := Parse(strings.NewReader(tc.xml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`<opencv_storage><cascade><stageType>BOOST</stageType><featureType>HAAR</featureType><height>4</height><width>4</width><featureParams><maxCatCount>0</maxCatCount></featureParams><stages><_><stageThreshold>0</stageThreshold><weakClassifiers><_><internalNodes>0 -1 0 0.5</internalNodes><leafValues>1 2</leafValues></_></weakClassifiers></_></stages><features><_><rects><_>0 0 2 2 -1.</_></rects></_></features></cascade></opencv_storage>`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(strings.NewReader(s))
		if err != nil {
			return
		}
		// A cascade that parses must evaluate without panicking.
		g := &Gray{W: c.W + 3, H: c.H + 3, Pix: make([]uint8, (c.W+3)*(c.H+3))}
		for i := range g.Pix {
			g.Pix[i] = uint8(i * 7)
		}
		if _, err := c.Detect(context.Background(), g, Options{MinNeighbors: -1}); err != nil {
			t.Fatal(err)
		}
	})
}

// readCounts reads per-frame box counts of OpenCV's cached detections.
func readCounts(t *testing.T, path string) map[int][]Rect {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[int][]Rect{}
	for _, r := range recs[1:] {
		v := make([]int, 5)
		for i := range v {
			v[i], _ = strconv.Atoi(r[i])
		}
		out[v[0]] = append(out[v[0]], Rect{v[1], v[2], v[3], v[4]})
	}
	return out
}

// The first frames of the clip (40; 4 with -short), decoded by ffmpeg,
// give OpenCV's per-frame person counts (bench/video runs all 795).
func TestCascadeAgreesWithOpenCV(t *testing.T) {
	dir := shareddata.Require(t, "opencv-vtest")
	frames := decodeFrames(t, filepath.Join(dir, "vtest.avi"), framesToCheck())
	c, err := Load(filepath.Join(dir, "haarcascade_fullbody.xml"))
	if err != nil {
		t.Fatal(err)
	}
	want := readCounts(t, filepath.Join(dir, "vtest_fullbody_opencv.csv"))
	exact, within1 := 0, 0
	for i, g := range frames {
		got, err := c.Detect(t.Context(), g, Options{})
		if err != nil {
			t.Fatal(err)
		}
		d := len(got) - len(want[i])
		if d == 0 {
			exact++
		}
		if d >= -1 && d <= 1 {
			within1++
		}
	}
	n := float64(len(frames))
	t.Logf("%d frames: count exact on %.3f, within ±1 on %.3f", len(frames), float64(exact)/n, float64(within1)/n)
	if float64(within1)/n < 0.95 || float64(exact)/n < 0.70 {
		t.Errorf("agreement with OpenCV: exact %.3f (want ≥ 0.70), within 1 %.3f (want ≥ 0.95)", float64(exact)/n, float64(within1)/n)
	}
}

func framesToCheck() int {
	if testing.Short() {
		return 4
	}
	return 40
}
