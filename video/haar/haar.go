// Package haar evaluates OpenCV cascade classifiers of Haar features in
// pure Go: the XML format written by opencv_traincascade (stageType BOOST,
// featureType HAAR, stumps or small trees over upright and 45°-tilted
// features) and OpenCV's CascadeClassifier::detectMultiScale around it.
//
// The arithmetic follows OpenCV 4's CPU path so that detections agree with
// OpenCV's on the same gray image:
//   - the image is shrunk, not the window: for scale factors 1, f, f², …
//     while the window fits, the image is resized to round(size/scale)
//     with bilinear interpolation in 8-bit fixed point (INTER_LINEAR_EXACT),
//     and integral, squared-integral and tilted-integral images are built;
//   - a window is normalised by the standard deviation of its inner
//     rectangle (1 pixel in from each side) and rejected outright when that
//     deviation is 10 or less (OpenCV's setWindow);
//   - a feature is Σ weight·rect-sum in float32, times the float32
//     normalisation factor, compared with the node's float32 threshold; a
//     stage passes when its sum of leaf values reaches its threshold less
//     1e-5;
//   - windows step by 2 pixels below scale 2 and by 1 above; hits are mapped
//     back by rounding, grouped by groupRectangles (eps 0.2, clusters with
//     more than minNeighbors members, smaller clusters inside larger ones
//     dropped) and clipped to the image.
package haar

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Rect is a rectangle in pixels.
type Rect struct{ X, Y, W, H int }

type featRect struct {
	r      Rect
	weight float32
}

type feature struct {
	rects  [3]featRect
	n      int
	tilted bool
}

type node struct {
	left, right int // > 0: next node index; ≤ 0: −leaf index
	feature     int
	threshold   float32
}

type tree struct {
	nodes  []node
	leaves []float32
}

type stage struct {
	threshold float32
	trees     []tree
}

// Cascade is a loaded cascade classifier.
type Cascade struct {
	W, H     int // the detection window
	stages   []stage
	features []feature
	tilted   bool // any tilted feature
}

// Stages is the number of stages.
func (c *Cascade) Stages() int { return len(c.stages) }

type xmlFile struct {
	XMLName xml.Name   `xml:"opencv_storage"`
	Cascade xmlCascade `xml:"cascade"`
}

type xmlCascade struct {
	TypeID      string `xml:"type_id,attr"`
	StageType   string `xml:"stageType"`
	FeatureType string `xml:"featureType"`
	Height      int    `xml:"height"`
	Width       int    `xml:"width"`
	MaxCatCount int    `xml:"featureParams>maxCatCount"`
	Stages      []struct {
		Threshold string `xml:"stageThreshold"`
		Weak      []struct {
			Nodes  string `xml:"internalNodes"`
			Leaves string `xml:"leafValues"`
		} `xml:"weakClassifiers>_"`
	} `xml:"stages>_"`
	Features []struct {
		Rects  []string `xml:"rects>_"`
		Tilted string   `xml:"tilted"`
	} `xml:"features>_"`
}

// maxCascadeBytes bounds a cascade file (OpenCV's largest shipped cascade
// is under 3 MB).
const maxCascadeBytes = 64 << 20

// Load reads a cascade XML file.
func Load(path string) (*Cascade, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("haar: %w", err)
	}
	defer f.Close()
	c, err := Parse(io.LimitReader(f, maxCascadeBytes+1))
	if err != nil {
		return nil, fmt.Errorf("haar: %s: %w", path, err)
	}
	return c, nil
}

func floats(s string) ([]float64, error) {
	fs := strings.Fields(s)
	out := make([]float64, len(fs))
	for i, f := range fs {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		out[i] = v
	}
	return out, nil
}

// Parse reads a cascade in OpenCV's XML format.
func Parse(r io.Reader) (*Cascade, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if len(b) > maxCascadeBytes {
		return nil, fmt.Errorf("cascade file is over %d MB", maxCascadeBytes>>20)
	}
	var x xmlFile
	if err := xml.Unmarshal(b, &x); err != nil {
		return nil, fmt.Errorf("not an OpenCV cascade XML file: %w", err)
	}
	xc := x.Cascade
	switch {
	case xc.StageType == "" && xc.TypeID == "":
		return nil, errors.New("no <cascade> element: this is not a cascade of the opencv_traincascade format (old-style haarcascade files are not supported)")
	case xc.StageType != "BOOST":
		return nil, fmt.Errorf("stageType %q: only BOOST cascades are supported", xc.StageType)
	case xc.FeatureType != "HAAR":
		return nil, fmt.Errorf("featureType %q: only HAAR features are supported", xc.FeatureType)
	case xc.Width <= 2 || xc.Height <= 2 || xc.Width > 1024 || xc.Height > 1024:
		return nil, fmt.Errorf("window %d×%d is out of range", xc.Width, xc.Height)
	case xc.MaxCatCount != 0:
		return nil, errors.New("categorical (LBP-style) nodes are not supported for HAAR")
	case len(xc.Stages) == 0:
		return nil, errors.New("no stages")
	}
	c := &Cascade{W: xc.Width, H: xc.Height}
	for fi, xf := range xc.Features {
		var f feature
		if len(xf.Rects) < 1 || len(xf.Rects) > 3 {
			return nil, fmt.Errorf("feature %d has %d rectangles; want 1 to 3", fi, len(xf.Rects))
		}
		for ri, rs := range xf.Rects {
			v, err := floats(rs)
			if err != nil || len(v) != 5 {
				return nil, fmt.Errorf("feature %d rectangle %d: want \"x y w h weight\", got %q", fi, ri, strings.TrimSpace(rs))
			}
			fr := featRect{r: Rect{int(v[0]), int(v[1]), int(v[2]), int(v[3])}, weight: float32(v[4])}
			f.rects[ri] = fr
		}
		f.n = len(xf.Rects)
		f.tilted = strings.TrimSpace(xf.Tilted) == "1"
		for ri := 0; ri < f.n; ri++ {
			r := f.rects[ri].r
			ok := r.W > 0 && r.H > 0 && r.X >= 0 && r.Y >= 0
			if !f.tilted {
				ok = ok && r.X+r.W <= c.W && r.Y+r.H <= c.H
			} else {
				ok = ok && r.X-r.H >= 0 && r.X+r.W <= c.W && r.Y+r.W+r.H <= c.H
			}
			if !ok {
				return nil, fmt.Errorf("feature %d rectangle %d (%v, tilted %v) leaves the %d×%d window", fi, ri, r, f.tilted, c.W, c.H)
			}
		}
		if f.tilted {
			c.tilted = true
		}
		c.features = append(c.features, f)
	}
	for si, xs := range xc.Stages {
		th, err := strconv.ParseFloat(strings.TrimSpace(xs.Threshold), 64)
		if err != nil {
			return nil, fmt.Errorf("stage %d: threshold %q is not a number", si, xs.Threshold)
		}
		st := stage{threshold: float32(th) - 1e-5}
		for wi, w := range xs.Weak {
			nv, err := floats(w.Nodes)
			if err != nil || len(nv) == 0 || len(nv)%4 != 0 {
				return nil, fmt.Errorf("stage %d classifier %d: internalNodes must be groups of 4 numbers", si, wi)
			}
			lv, err := floats(w.Leaves)
			if err != nil || len(lv) == 0 {
				return nil, fmt.Errorf("stage %d classifier %d: bad leafValues", si, wi)
			}
			var t tree
			for q := 0; q < len(nv); q += 4 {
				n := node{left: int(nv[q]), right: int(nv[q+1]), feature: int(nv[q+2]), threshold: float32(nv[q+3])}
				if n.feature < 0 || n.feature >= len(c.features) {
					return nil, fmt.Errorf("stage %d classifier %d: feature %d of %d", si, wi, n.feature, len(c.features))
				}
				nn := len(nv) / 4
				for _, ch := range []int{n.left, n.right} {
					if ch >= nn || -ch >= len(lv) {
						return nil, fmt.Errorf("stage %d classifier %d: node child %d out of range", si, wi, ch)
					}
				}
				t.nodes = append(t.nodes, n)
			}
			for _, v := range lv {
				t.leaves = append(t.leaves, float32(v))
			}
			st.trees = append(st.trees, t)
		}
		if len(st.trees) == 0 {
			return nil, fmt.Errorf("stage %d has no classifiers", si)
		}
		c.stages = append(c.stages, st)
	}
	return c, nil
}
