package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/dawn-ml/dawn/video/haar"
)

// Reference counts the objects in a frame: the expensive model a query
// avoids calling.
type Reference interface {
	// Count returns the number of objects in frame i; frame is the full
	// frame when NeedsFrames, else nil.
	Count(ctx context.Context, i int, frame *haar.Gray) (int, error)
	NeedsFrames() bool
	// Cost is the seconds one call costs (measured or declared); it
	// prices calls answered from a cache.
	Cost() float64
	// Describe names the reference (what a saved cascade was trained on).
	Describe() string
}

// Store holds a video's frames for querying: every frame downsampled (the
// specialized model's input, small enough to keep), and, when the
// reference needs them, the full frames spooled to a temporary file.
type Store struct {
	N            int
	SW, SH       int
	small        []uint8 // N × SW·SH
	background   []uint8
	fullW, fullH int
	spool        *os.File
	DecodeTime   time.Duration
}

// maxFrames bounds a store (about 2.8 hours at 25 fps).
const maxFrames = 250_000

// Load reads every frame of src, keeping an sw×sh version of each and,
// when keepFull, spooling full frames into a temporary file in dir.
func Load(ctx context.Context, src Frames, sw, sh int, keepFull bool, dir string, progress func(int)) (*Store, error) {
	t0 := time.Now()
	s := &Store{SW: sw, SH: sh}
	for {
		if err := ctx.Err(); err != nil {
			s.Close()
			return nil, fmt.Errorf("video: load: %w", err)
		}
		g, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.Close()
			return nil, err
		}
		if s.N >= maxFrames {
			s.Close()
			return nil, fmt.Errorf("video: more than %d frames", maxFrames)
		}
		if s.N == 0 {
			s.fullW, s.fullH = g.W, g.H
			if keepFull {
				if s.spool, err = os.CreateTemp(dir, "dawn-frames-*.gray"); err != nil {
					return nil, fmt.Errorf("video: spool: %w", err)
				}
				os.Remove(s.spool.Name()) // unlinked: gone when closed
			}
		} else if g.W != s.fullW || g.H != s.fullH {
			s.Close()
			return nil, fmt.Errorf("video: frame %d is %d×%d, frame 0 was %d×%d", s.N, g.W, g.H, s.fullW, s.fullH)
		}
		sm := g
		if g.W != sw || g.H != sh {
			sm = haar.Resize(g, sw, sh)
		}
		s.small = append(s.small, sm.Pix...)
		if s.spool != nil {
			if _, err := s.spool.Write(g.Pix); err != nil {
				s.Close()
				return nil, fmt.Errorf("video: spool: %w", err)
			}
		}
		s.N++
		if progress != nil {
			progress(s.N)
		}
	}
	if s.N == 0 {
		return nil, errors.New("video: no frames")
	}
	s.DecodeTime = time.Since(t0)
	return s, nil
}

// Close releases the spool.
func (s *Store) Close() error {
	if s.spool != nil {
		return s.spool.Close()
	}
	return nil
}

// Frame returns full frame i (nil without a spool).
func (s *Store) Frame(i int) (*haar.Gray, error) {
	if s.spool == nil {
		return nil, nil
	}
	g := &haar.Gray{W: s.fullW, H: s.fullH, Pix: make([]uint8, s.fullW*s.fullH)}
	if _, err := s.spool.ReadAt(g.Pix, int64(i)*int64(len(g.Pix))); err != nil {
		return nil, fmt.Errorf("video: spool: frame %d: %w", i, err)
	}
	return g, nil
}

func (s *Store) smallFrame(i int) []uint8 { return s.small[i*s.SW*s.SH : (i+1)*s.SW*s.SH] }

// poolCell is the side of the cells over which features pool.
const poolCell = 8

// features are the specialized model's inputs for frame i, from the
// absolute difference with the background (the per-pixel median of every
// small frame; the camera is fixed): the number of foreground blobs (4-
// connected pixels differing by more than fgThreshold, at least minBlob of
// them), the foreground share in each of four horizontal bands (people far
// away are small), and the mean difference over poolCell×poolCell cells.
func (s *Store) features(i int, dst []float64) []float64 {
	if s.background == nil {
		s.computeBackground()
	}
	dst = dst[:0]
	px := s.smallFrame(i)
	n := s.SW * s.SH
	fg := make([]bool, n)
	var bands [4]float64
	for p := 0; p < n; p++ {
		d := int(px[p]) - int(s.background[p])
		if d < 0 {
			d = -d
		}
		if d > fgThreshold {
			fg[p] = true
			bands[(p/s.SW)*4/s.SH]++
		}
	}
	blobs := 0
	stack := []int{}
	for p := 0; p < n; p++ {
		if !fg[p] {
			continue
		}
		size := 0
		stack = append(stack[:0], p)
		fg[p] = false
		for len(stack) > 0 {
			q := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size++
			x, y := q%s.SW, q/s.SW
			for _, nb := range [4][2]int{{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}} {
				if nb[0] >= 0 && nb[0] < s.SW && nb[1] >= 0 && nb[1] < s.SH && fg[nb[1]*s.SW+nb[0]] {
					fg[nb[1]*s.SW+nb[0]] = false
					stack = append(stack, nb[1]*s.SW+nb[0])
				}
			}
		}
		if size >= minBlob {
			blobs++
		}
	}
	dst = append(dst, float64(blobs)/4)
	for _, b := range bands {
		dst = append(dst, b*4/float64(n)*10)
	}
	cw, ch := s.SW/poolCell, s.SH/poolCell
	for cy := 0; cy < ch; cy++ {
		for cx := 0; cx < cw; cx++ {
			var sum int
			for y := cy * poolCell; y < (cy+1)*poolCell; y++ {
				for x := cx * poolCell; x < (cx+1)*poolCell; x++ {
					d := int(px[y*s.SW+x]) - int(s.background[y*s.SW+x])
					if d < 0 {
						d = -d
					}
					sum += d
				}
			}
			dst = append(dst, float64(sum)/float64(poolCell*poolCell*255))
		}
	}
	return dst
}

// Foreground parameters of the specialized model's features.
const (
	fgThreshold = 25
	minBlob     = 6
)

func (s *Store) computeBackground() {
	n := s.SW * s.SH
	s.background = make([]uint8, n)
	var hist [256]int
	for p := 0; p < n; p++ {
		clear(hist[:])
		for i := 0; i < s.N; i++ {
			hist[s.small[i*n+p]]++
		}
		acc := 0
		for v, c := range hist {
			acc += c
			if 2*acc >= s.N {
				s.background[p] = uint8(v)
				break
			}
		}
	}
}

// dist is the mean absolute difference of two frames' small versions.
func (s *Store) dist(i, j int) float64 {
	a, b := s.smallFrame(i), s.smallFrame(j)
	var d int
	for k := range a {
		x := int(a[k]) - int(b[k])
		if x < 0 {
			x = -x
		}
		d += x
	}
	return float64(d) / float64(len(a))
}

// spaced picks n frame indices of N evenly spaced, offset by phase ∈ [0,1).
func spaced(N, n int, phase float64) []int {
	out := make([]int, 0, n)
	step := float64(N) / float64(n)
	seen := map[int]bool{}
	for k := 0; k < n; k++ {
		i := min(int((float64(k)+phase)*step), N-1)
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	return out
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// score maps a predicted count to P(predicate holds), for the cascade's
// thresholds.
func score(q *Query, pred float64) float64 {
	k := float64(q.Value)
	switch q.Op {
	case ">=":
		return sigmoid(2 * (pred - (k - 0.5)))
	case ">":
		return sigmoid(2 * (pred - (k + 0.5)))
	case "<=":
		return sigmoid(2 * ((k + 0.5) - pred))
	case "<":
		return sigmoid(2 * ((k - 0.5) - pred))
	case "=":
		return sigmoid(2 * (0.5 - math.Abs(pred-k)))
	}
	return 1 - sigmoid(2*(0.5-math.Abs(pred-k)))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
