package haar

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// Gray is an 8-bit gray image, row-major.
type Gray struct {
	W, H int
	Pix  []uint8
}

// Options are detectMultiScale's parameters.
type Options struct {
	ScaleFactor  float64 // default 1.1
	MinNeighbors int     // default 3; negative for none (every raw window)
	MinW, MinH   int     // smallest object, default the window
	MaxW, MaxH   int     // largest object, default the image
	Workers      int     // default GOMAXPROCS
}

func (o *Options) defaults(c *Cascade, img *Gray) error {
	if o.ScaleFactor == 0 {
		o.ScaleFactor = 1.1
	}
	if o.ScaleFactor <= 1 || o.ScaleFactor > 10 {
		return fmt.Errorf("haar: scale factor %v must be in (1, 10]", o.ScaleFactor)
	}
	if o.MinNeighbors == 0 {
		o.MinNeighbors = 3
	}
	if o.MaxW == 0 || o.MaxH == 0 {
		o.MaxW, o.MaxH = img.W, img.H
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return nil
}

// maxPixels bounds the image a detection takes (about a 16k × 16k frame).
const maxPixels = 1 << 28

// Detect runs the cascade over img at every scale and returns the grouped
// detections, as OpenCV's detectMultiScale does.
func (c *Cascade) Detect(ctx context.Context, img *Gray, opt Options) ([]Rect, error) {
	raw, err := c.DetectRaw(ctx, img, opt)
	if err != nil {
		return nil, err
	}
	if opt.MinNeighbors == 0 {
		opt.MinNeighbors = 3
	}
	out := GroupRectangles(raw, opt.MinNeighbors, 0.2)
	return clip(out, img.W, img.H), nil
}

func clip(rs []Rect, w, h int) []Rect {
	out := rs[:0]
	for _, r := range rs {
		x0, y0 := max(r.X, 0), max(r.Y, 0)
		x1, y1 := min(r.X+r.W, w), min(r.Y+r.H, h)
		if x1 > x0 && y1 > y0 {
			out = append(out, Rect{x0, y0, x1 - x0, y1 - y0})
		}
	}
	return out
}

// cvRound is OpenCV's cvRound: round half to even.
func cvRound(v float64) int { return int(math.RoundToEven(v)) }

// scales lists the scale factors detectMultiScale scans.
func (c *Cascade) scales(img *Gray, opt Options) []float32 {
	var out []float32
	for f := 1.0; ; f *= opt.ScaleFactor {
		ww, wh := cvRound(float64(c.W)*f), cvRound(float64(c.H)*f)
		if ww > img.W || wh > img.H || ww > opt.MaxW || wh > opt.MaxH {
			break
		}
		if ww < opt.MinW || wh < opt.MinH {
			continue
		}
		out = append(out, float32(f))
	}
	return out
}

// layer is one scale's images.
type layer struct {
	scale         float32
	w, h          int // scaled image size; integral images are (w+1)×(h+1)
	sum, sq, tilt []int32
	step          int
}

// DetectRaw returns every window the cascade accepts, in image
// coordinates, before grouping.
func (c *Cascade) DetectRaw(ctx context.Context, img *Gray, opt Options) ([]Rect, error) {
	if img.W <= 0 || img.H <= 0 || len(img.Pix) != img.W*img.H {
		return nil, fmt.Errorf("haar: image %d×%d has %d pixels", img.W, img.H, len(img.Pix))
	}
	if img.W*img.H > maxPixels {
		return nil, fmt.Errorf("haar: image %d×%d is over the %d-pixel limit", img.W, img.H, maxPixels)
	}
	if err := opt.defaults(c, img); err != nil {
		return nil, err
	}
	if img.W < c.W || img.H < c.H {
		return nil, nil
	}
	scales := c.scales(img, opt)
	// Work items: (scale, row band); each worker builds the layers it needs
	// lazily but layers are shared, built once.
	layers := make([]*layer, len(scales))
	var lmu sync.Mutex
	getLayer := func(i int) *layer {
		lmu.Lock()
		defer lmu.Unlock()
		if layers[i] == nil {
			layers[i] = c.buildLayer(img, scales[i])
		}
		return layers[i]
	}
	type job struct{ scale, y0, y1 int }
	var jobs []job
	for i, s := range scales {
		w := cvRound(float64(float32(img.W) / s))
		h := cvRound(float64(float32(img.H) / s))
		rows := h + 1 - c.H // working height
		if rows <= 0 || w+1-c.W <= 0 {
			continue
		}
		band := 32
		for y := 0; y < rows; y += band {
			jobs = append(jobs, job{i, y, min(y+band, rows)})
		}
	}
	var mu sync.Mutex
	var out []Rect
	var wg sync.WaitGroup
	next := make(chan job)
	errc := make(chan error, 1)
	for range opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []Rect
			for j := range next {
				local = c.scan(getLayer(j.scale), j.y0, j.y1, local)
			}
			mu.Lock()
			out = append(out, local...)
			mu.Unlock()
		}()
	}
feed:
	for _, j := range jobs {
		select {
		case <-ctx.Done():
			errc <- fmt.Errorf("haar: detect: %w", ctx.Err())
			break feed
		case next <- j:
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	return out, nil
}

// buildLayer resizes img by 1/scale and computes its integral images.
func (c *Cascade) buildLayer(img *Gray, scale float32) *layer {
	w := cvRound(float64(float32(img.W) / scale))
	h := cvRound(float64(float32(img.H) / scale))
	small := img
	if w != img.W || h != img.H {
		small = Resize(img, w, h)
	}
	l := &layer{scale: scale, w: w, h: h, step: w + 1}
	l.sum, l.sq = integrals(small)
	if c.tilted {
		l.tilt = tiltedIntegral(small)
	}
	return l
}

// integrals returns the (w+1)×(h+1) integral and squared integral images.
// The squares are kept as int32 as OpenCV keeps them: sums over a window
// are differences, exact modulo 2^32.
func integrals(g *Gray) ([]int32, []int32) {
	w, h := g.W, g.H
	st := w + 1
	sum := make([]int32, st*(h+1))
	sq := make([]int32, st*(h+1))
	for y := 0; y < h; y++ {
		var rs, rq int32
		row := g.Pix[y*w : (y+1)*w]
		for x, p := range row {
			v := int32(p)
			rs += v
			rq += v * v
			sum[(y+1)*st+x+1] = sum[y*st+x+1] + rs
			sq[(y+1)*st+x+1] = sq[y*st+x+1] + rq
		}
	}
	return sum, sq
}

// tiltedIntegral is OpenCV's rotated integral image:
// T(X, Y) = Σ image(x, y) over y < Y, |x − X + 1| ≤ Y − y − 1, for
// 0 ≤ X ≤ w, 0 ≤ Y ≤ h. It is built row by row on a buffer padded by h
// columns each side (the triangles reach past the image edges):
// T(X,Y) = T(X−1,Y−1) + T(X+1,Y−1) − T(X,Y−2) + I(X−1,Y−1) + I(X−1,Y−2).
func tiltedIntegral(g *Gray) []int32 {
	w, h := g.W, g.H
	pad := h + 1
	pw := w + 1 + 2*pad
	rows := make([][]int32, 3) // Y−2, Y−1, Y
	for i := range rows {
		rows[i] = make([]int32, pw)
	}
	px := func(x, y int) int32 {
		if x < 0 || x >= w || y < 0 || y >= h {
			return 0
		}
		return int32(g.Pix[y*w+x])
	}
	st := w + 1
	out := make([]int32, st*(h+1))
	for Y := 1; Y <= h; Y++ {
		cur, p1, p2 := rows[Y%3], rows[(Y+2)%3], rows[(Y+1)%3] // Y, Y−1, Y−2
		for i := 0; i < pw; i++ {
			X := i - pad
			var v int32
			if i > 0 {
				v += p1[i-1]
			}
			if i+1 < pw {
				v += p1[i+1]
			}
			if Y >= 2 {
				v -= p2[i]
			}
			v += px(X-1, Y-1) + px(X-1, Y-2)
			cur[i] = v
		}
		copy(out[Y*st:(Y+1)*st], cur[pad:pad+st])
	}
	return out
}

// scan evaluates the windows of rows [y0, y1) of a layer.
func (c *Cascade) scan(l *layer, y0, y1 int, out []Rect) []Rect {
	step := 2
	if l.scale >= 2 {
		step = 1
	}
	ww, wh := cvRound(float64(c.W)*float64(l.scale)), cvRound(float64(c.H)*float64(l.scale))
	cols := l.w + 1 - c.W
	// Offsets relative to the window origin.
	st := l.step
	nr := Rect{1, 1, c.W - 2, c.H - 2}
	n0, n1, n2, n3 := nr.Y*st+nr.X, nr.Y*st+nr.X+nr.W, (nr.Y+nr.H)*st+nr.X, (nr.Y+nr.H)*st+nr.X+nr.W
	area := float64(nr.W * nr.H)
	ofs := make([][3][4]int, len(c.features))
	for fi, f := range c.features {
		for ri := 0; ri < f.n; ri++ {
			r := f.rects[ri].r
			if f.tilted {
				ofs[fi][ri] = [4]int{r.Y*st + r.X, (r.Y+r.H)*st + r.X - r.H, (r.Y+r.W)*st + r.X + r.W, (r.Y+r.W+r.H)*st + r.X + r.W - r.H}
			} else {
				ofs[fi][ri] = [4]int{r.Y*st + r.X, r.Y*st + r.X + r.W, (r.Y+r.H)*st + r.X, (r.Y+r.H)*st + r.X + r.W}
			}
		}
	}
	ystart := y0
	if r := ystart % step; r != 0 {
		ystart += step - r
	}
	for y := ystart; y < y1; y += step {
		for x := 0; x < cols; x += step {
			base := y*st + x
			valsum := l.sum[base+n0] - l.sum[base+n1] - l.sum[base+n2] + l.sum[base+n3]
			valsq := uint32(l.sq[base+n0] - l.sq[base+n1] - l.sq[base+n2] + l.sq[base+n3])
			nf := area*float64(valsq) - float64(valsum)*float64(valsum)
			if nf <= 0 {
				continue
			}
			vnf := float32(1 / math.Sqrt(nf))
			if !(area*float64(vnf) < 0.1) {
				continue
			}
			if c.accept(l, base, vnf, ofs) {
				out = append(out, Rect{cvRound(float64(float32(x) * l.scale)), cvRound(float64(float32(y) * l.scale)), ww, wh})
			}
		}
	}
	return out
}

// accept runs the stages on the window at base.
func (c *Cascade) accept(l *layer, base int, vnf float32, ofs [][3][4]int) bool {
	for si := range c.stages {
		s := &c.stages[si]
		var sum float64
		for ti := range s.trees {
			t := &s.trees[ti]
			idx := 0
			for {
				n := &t.nodes[idx]
				v := c.feature(l, base, n.feature, ofs) * vnf
				if v < n.threshold {
					idx = n.left
				} else {
					idx = n.right
				}
				if idx <= 0 {
					break
				}
			}
			sum += float64(t.leaves[-idx])
		}
		if sum < float64(s.threshold) {
			return false
		}
	}
	return true
}

func (c *Cascade) feature(l *layer, base, fi int, ofs [][3][4]int) float32 {
	f := &c.features[fi]
	img := l.sum
	if f.tilted {
		img = l.tilt
	}
	o := &ofs[fi]
	var ret float32
	for ri := 0; ri < f.n; ri++ {
		if ri == 2 && f.rects[2].weight == 0 {
			break
		}
		p := &o[ri]
		s := img[base+p[0]] - img[base+p[1]] - img[base+p[2]] + img[base+p[3]]
		ret += f.rects[ri].weight * float32(s)
	}
	return ret
}

// Resize shrinks or grows g to w×h with OpenCV's INTER_LINEAR_EXACT:
// source coordinate (d + 0.5)·scale − 0.5, clamped at the borders, and
// 8-bit fixed-point weights in each direction, rounded at the end.
func Resize(g *Gray, w, h int) *Gray {
	xs, xw := linearTaps(g.W, w)
	ys, yw := linearTaps(g.H, h)
	out := &Gray{W: w, H: h, Pix: make([]uint8, w*h)}
	rowA := make([]uint32, w)
	rowB := make([]uint32, w)
	hpass := func(sy int, dst []uint32) {
		src := g.Pix[sy*g.W : (sy+1)*g.W]
		for x := 0; x < w; x++ {
			sx := xs[x]
			c1 := xw[x]
			v := uint32(src[sx]) * (256 - c1)
			if c1 != 0 {
				v += uint32(src[sx+1]) * c1
			}
			dst[x] = v
		}
	}
	for y := 0; y < h; y++ {
		sy := ys[y]
		c1 := yw[y]
		hpass(sy, rowA)
		if c1 != 0 {
			hpass(sy+1, rowB)
		}
		dst := out.Pix[y*w : (y+1)*w]
		for x := 0; x < w; x++ {
			v := rowA[x] * (256 - c1)
			if c1 != 0 {
				v += rowB[x] * c1
			}
			dst[x] = uint8((v + 1<<15) >> 16)
		}
	}
	return out
}

// linearTaps gives, per destination index, the first source index and the
// 8-bit weight (0–256) of the second.
func linearTaps(src, dst int) ([]int, []uint32) {
	scale := float64(src) / float64(dst)
	idx := make([]int, dst)
	wt := make([]uint32, dst)
	for d := 0; d < dst; d++ {
		f := (float64(d)+0.5)*scale - 0.5
		s := int(math.Floor(f))
		f -= float64(s)
		if s < 0 {
			s, f = 0, 0
		}
		if s >= src-1 {
			s, f = src-1, 0
		}
		idx[d] = s
		wt[d] = uint32(cvRound(f * 256))
		if wt[d] == 256 { // rounds up to the next pixel
			wt[d] = 0
			idx[d]++
		}
	}
	return idx, wt
}

// GroupRectangles is OpenCV's groupRectangles: rectangles are clustered
// when their corners are within eps·(mean of the smaller sides), each
// cluster with more than threshold members becomes its mean rectangle, and
// a cluster inside a larger one (with margin eps) is dropped when the
// larger has more members (or the smaller fewer than 3). threshold ≤ 0
// returns the rectangles unchanged.
func GroupRectangles(rs []Rect, threshold int, eps float64) []Rect {
	if threshold <= 0 || len(rs) == 0 {
		return rs
	}
	n := len(rs)
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	similar := func(a, b Rect) bool {
		delta := eps * float64(min(a.W, b.W)+min(a.H, b.H)) * 0.5
		return math.Abs(float64(a.X-b.X)) <= delta && math.Abs(float64(a.Y-b.Y)) <= delta &&
			math.Abs(float64(a.X+a.W-b.X-b.W)) <= delta && math.Abs(float64(a.Y+a.H-b.Y-b.H)) <= delta
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if similar(rs[i], rs[j]) {
				if a, b := find(i), find(j); a != b {
					parent[a] = b
				}
			}
		}
	}
	cls := map[int]int{}
	var sums [][4]int
	var counts []int
	for i := 0; i < n; i++ {
		root := find(i)
		c, ok := cls[root]
		if !ok {
			c = len(sums)
			cls[root] = c
			sums = append(sums, [4]int{})
			counts = append(counts, 0)
		}
		sums[c][0] += rs[i].X
		sums[c][1] += rs[i].Y
		sums[c][2] += rs[i].W
		sums[c][3] += rs[i].H
		counts[c]++
	}
	avg := make([]Rect, len(sums))
	for c, s := range sums {
		f := float32(1) / float32(counts[c])
		r := func(v int) int { return cvRound(float64(float32(v) * f)) }
		avg[c] = Rect{r(s[0]), r(s[1]), r(s[2]), r(s[3])}
	}
	var out []Rect
	for i, r1 := range avg {
		n1 := counts[i]
		if n1 <= threshold {
			continue
		}
		inside := false
		for j, r2 := range avg {
			n2 := counts[j]
			if j == i || n2 <= threshold {
				continue
			}
			dx := cvRound(float64(r2.W) * eps)
			dy := cvRound(float64(r2.H) * eps)
			if r1.X >= r2.X-dx && r1.Y >= r2.Y-dy && r1.X+r1.W <= r2.X+r2.W+dx && r1.Y+r1.H <= r2.Y+r2.H+dy &&
				(n2 > max(3, n1) || n1 < 3) {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, r1)
		}
	}
	return out
}
