package video

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/dawn-ml/dawn/video/haar"
)

// Boxes are detections per frame.
type Boxes map[int][]haar.Rect

// ReadBoxes reads a frame,x,y,w,h CSV (the format dawn video detect
// writes and OpenCV's cached detections use). Frames must be given as
// nframes when known, so frames without boxes count as zero.
func ReadBoxes(path string) (Boxes, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("video: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 5
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("video: %s: %w", path, err)
	}
	if head[0] != "frame" || head[1] != "x" || head[2] != "y" || head[3] != "w" || head[4] != "h" {
		return nil, fmt.Errorf("video: %s: header %v, want frame,x,y,w,h", path, head)
	}
	b := Boxes{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return nil, fmt.Errorf("video: %s: %w", path, err)
		}
		var v [5]int
		for i, s := range rec {
			if v[i], err = strconv.Atoi(s); err != nil || v[i] < 0 {
				return nil, fmt.Errorf("video: %s: line %d, column %s: %q is not a whole number ≥ 0", path, line, head[i], s)
			}
		}
		b[v[0]] = append(b[v[0]], haar.Rect{X: v[1], Y: v[2], W: v[3], H: v[4]})
	}
}

// WriteBoxes writes boxes for frames 0..n−1 as frame,x,y,w,h (temp file
// and rename).
func WriteBoxes(path string, b Boxes, n int) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("video: %w", err)
	}
	defer os.Remove(tmp.Name())
	w := csv.NewWriter(tmp)
	w.Write([]string{"frame", "x", "y", "w", "h"})
	for i := 0; i < n; i++ {
		for _, r := range b[i] {
			w.Write([]string{strconv.Itoa(i), strconv.Itoa(r.X), strconv.Itoa(r.Y), strconv.Itoa(r.W), strconv.Itoa(r.H)})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tmp.Close()
		return fmt.Errorf("video: write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("video: write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// BoxesReference answers counts from recorded detections (for example a
// detector's output computed elsewhere); Seconds is what one detection
// cost when it was computed.
type BoxesReference struct {
	Boxes   Boxes
	Seconds float64
}

func (r *BoxesReference) Count(_ context.Context, i int, _ *haar.Gray) (int, error) {
	return len(r.Boxes[i]), nil
}
func (r *BoxesReference) NeedsFrames() bool { return false }
func (r *BoxesReference) Describe() string  { return "recorded detections" }
func (r *BoxesReference) Cost() float64     { return r.Seconds }

// CascadeReference runs a Haar cascade on full frames, through a
// detection cache when Cache is set.
type CascadeReference struct {
	Cascade *haar.Cascade
	Options haar.Options
	Cache   *Cache

	mu      sync.Mutex
	spent   time.Duration
	ran     int
	lastErr error
}

func (r *CascadeReference) Count(ctx context.Context, i int, f *haar.Gray) (int, error) {
	if r.Cache != nil {
		if b, ok := r.Cache.Get(i); ok {
			return len(b), nil
		}
	}
	t0 := time.Now()
	b, err := r.Cascade.Detect(ctx, f, r.Options)
	if err != nil {
		return 0, err
	}
	d := time.Since(t0)
	r.mu.Lock()
	r.spent += d
	r.ran++
	r.mu.Unlock()
	if r.Cache != nil {
		r.Cache.Put(i, b, d.Seconds())
	}
	return len(b), nil
}

func (r *CascadeReference) NeedsFrames() bool { return true }

// Describe is the cascade's cache key when it has a cache, else its
// parameters.
func (r *CascadeReference) Describe() string {
	if r.Cache != nil {
		return r.Cache.data.Detector
	}
	o := r.Options
	return fmt.Sprintf("haar cascade (%d stages):scale=%g:neighbors=%d", r.Cascade.Stages(), o.ScaleFactor, o.MinNeighbors)
}

// Cost is the measured seconds per detection (from this run, else from
// the cache's record).
func (r *CascadeReference) Cost() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ran > 0 {
		return r.spent.Seconds() / float64(r.ran)
	}
	if r.Cache != nil {
		return r.Cache.MeanSeconds()
	}
	return 0
}

// Cache keeps a detector's answers per frame, keyed by the video's digest
// and the detector's (cascade file digest and parameters), in one JSON
// file per key under a directory; Save writes it with temp file + rename.
type Cache struct {
	path  string
	mu    sync.Mutex
	data  cacheFile
	dirty bool
}

type cacheFile struct {
	Video    string              `json:"video_sha256"`
	Detector string              `json:"detector"`
	Frames   map[int][]haar.Rect `json:"frames"`
	Seconds  map[int]float64     `json:"seconds"`
}

// FileDigest is the hex SHA-256 of a file.
func FileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("video: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("video: %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// OpenCache opens (or starts) the cache of detector over the video with
// the given digests, in dir.
func OpenCache(dir, videoDigest, detector string) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("video: cache: %w", err)
	}
	key := sha256.Sum256([]byte(videoDigest + "\x00" + detector))
	c := &Cache{path: filepath.Join(dir, hex.EncodeToString(key[:16])+".json"),
		data: cacheFile{Video: videoDigest, Detector: detector, Frames: map[int][]haar.Rect{}, Seconds: map[int]float64{}}}
	b, err := os.ReadFile(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("video: cache: %w", err)
	}
	var d cacheFile
	if err := json.Unmarshal(b, &d); err != nil || d.Video != videoDigest || d.Detector != detector || d.Frames == nil {
		return c, nil // a damaged or foreign file: start afresh
	}
	if d.Seconds == nil {
		d.Seconds = map[int]float64{}
	}
	c.data = d
	return c, nil
}

// Get returns frame i's cached detections.
func (c *Cache) Get(i int) ([]haar.Rect, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.data.Frames[i]
	return b, ok
}

// Put records frame i's detections and their cost.
func (c *Cache) Put(i int, b []haar.Rect, seconds float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b == nil {
		b = []haar.Rect{}
	}
	c.data.Frames[i] = b
	c.data.Seconds[i] = seconds
	c.dirty = true
}

// Len is the number of cached frames.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.data.Frames)
}

// MeanSeconds is the mean recorded cost of a detection.
func (c *Cache) MeanSeconds() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s float64
	for _, v := range c.data.Seconds {
		s += v
	}
	if len(c.data.Seconds) == 0 {
		return 0
	}
	return s / float64(len(c.data.Seconds))
}

// Save writes the cache if it changed.
func (c *Cache) Save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		return nil
	}
	b, err := json.Marshal(&c.data)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".cache-*")
	if err != nil {
		return fmt.Errorf("video: cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("video: cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("video: cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("video: cache: %w", err)
	}
	c.dirty = false
	return nil
}

// DetectorKey names a cascade run for the cache: the cascade file's digest
// and the detection parameters.
func DetectorKey(cascadeDigest string, o haar.Options) string {
	return fmt.Sprintf("haar:%s:scale=%g:neighbors=%d:min=%dx%d:max=%dx%d", cascadeDigest, o.ScaleFactor, o.MinNeighbors, o.MinW, o.MinH, o.MaxW, o.MaxH)
}
