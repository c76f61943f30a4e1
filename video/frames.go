// Package video answers queries over video frames the way NoScope and
// BlazeIt do: an expensive reference detector (a Haar cascade evaluated in
// pure Go, package video/haar), cheap specialized models trained on the
// reference's own answers, and queries that call the reference only where
// the cheap model is unsure.
//
// Frames come from a video file decoded by ffmpeg (a subprocess writing raw
// BGR frames on a pipe, converted to gray with OpenCV's BGR2GRAY weights),
// from a directory of images, or from a raw file of fixed-size gray
// frames; they are streamed, never held whole in memory.
package video

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // image directories
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dawn-ml/dawn/video/haar"
)

// Frames is a stream of gray frames.
type Frames interface {
	// Next returns the next frame, or io.EOF after the last.
	Next() (*haar.Gray, error)
	Close() error
}

// maxSide bounds a frame's width and height.
const maxSide = 16384

// ErrNoFFmpeg is returned when a video file needs ffmpeg and none is on
// the PATH.
var ErrNoFFmpeg = errors.New("video: ffmpeg is not installed (Debian: apt-get install ffmpeg); it decodes video files")

// Open opens a frame source: a directory of PNG/JPEG images (in name
// order), a raw gray file (name.raw with size given as WxH in rawSize), or
// any video file ffmpeg decodes.
func Open(ctx context.Context, path, rawSize string) (Frames, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("video: %w", err)
	}
	if st.IsDir() {
		return openDir(path)
	}
	if strings.EqualFold(filepath.Ext(path), ".raw") || strings.EqualFold(filepath.Ext(path), ".gray") {
		w, h, err := parseSize(rawSize)
		if err != nil {
			return nil, fmt.Errorf("video: %s: raw gray frames need their size (--size WxH): %w", path, err)
		}
		return openRaw(path, w, h)
	}
	return OpenFFmpeg(ctx, path)
}

func parseSize(s string) (int, int, error) {
	a, b, ok := strings.Cut(strings.ToLower(s), "x")
	if !ok {
		return 0, 0, fmt.Errorf("size %q is not WxH", s)
	}
	w, err1 := strconv.Atoi(a)
	h, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || w <= 0 || h <= 0 || w > maxSide || h > maxSide {
		return 0, 0, fmt.Errorf("size %q is not WxH with sides 1 to %d", s, maxSide)
	}
	return w, h, nil
}

type rawFrames struct {
	f    *os.File
	r    *bufio.Reader
	w, h int
}

func openRaw(path string, w, h int) (*rawFrames, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("video: %w", err)
	}
	st, _ := f.Stat()
	if st != nil && st.Size()%int64(w*h) != 0 {
		f.Close()
		return nil, fmt.Errorf("video: %s: %d bytes is not a whole number of %d×%d frames", path, st.Size(), w, h)
	}
	return &rawFrames{f: f, r: bufio.NewReaderSize(f, 1<<20), w: w, h: h}, nil
}

func (r *rawFrames) Next() (*haar.Gray, error) {
	g := &haar.Gray{W: r.w, H: r.h, Pix: make([]uint8, r.w*r.h)}
	if _, err := io.ReadFull(r.r, g.Pix); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("video: %s: truncated frame", r.f.Name())
		}
		return nil, err
	}
	return g, nil
}

func (r *rawFrames) Close() error { return r.f.Close() }

type dirFrames struct {
	dir   string
	names []string
	i     int
}

func openDir(dir string) (*dirFrames, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("video: %w", err)
	}
	var names []string
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg":
			if e.Type().IsRegular() {
				names = append(names, e.Name())
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("video: %s holds no .png or .jpg images", dir)
	}
	slices.Sort(names)
	return &dirFrames{dir: dir, names: names}, nil
}

func (d *dirFrames) Next() (*haar.Gray, error) {
	if d.i >= len(d.names) {
		return nil, io.EOF
	}
	name := d.names[d.i]
	d.i++
	root, err := os.OpenRoot(d.dir)
	if err != nil {
		return nil, fmt.Errorf("video: %w", err)
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("video: %w", err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("video: %s: %w", name, err)
	}
	if cfg.Width > maxSide || cfg.Height > maxSide {
		return nil, fmt.Errorf("video: %s: %d×%d is over %d pixels a side", name, cfg.Width, cfg.Height, maxSide)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("video: %s: %w", name, err)
	}
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("video: %s: %w", name, err)
	}
	return ToGray(img), nil
}

func (d *dirFrames) Close() error { return nil }

// ToGray converts an image with OpenCV's BGR2GRAY fixed-point weights.
func ToGray(img image.Image) *haar.Gray {
	b := img.Bounds()
	g := &haar.Gray{W: b.Dx(), H: b.Dy(), Pix: make([]uint8, b.Dx()*b.Dy())}
	for y := 0; y < g.H; y++ {
		for x := 0; x < g.W; x++ {
			r, gg, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			g.Pix[y*g.W+x] = grayOf(uint8(bb>>8), uint8(gg>>8), uint8(r>>8))
		}
	}
	return g
}

// grayOf is OpenCV's BGR→gray: (1868·B + 9617·G + 4899·R + 2^13) >> 14.
func grayOf(b, g, r uint8) uint8 {
	return uint8((uint32(b)*1868 + uint32(g)*9617 + uint32(r)*4899 + 1<<13) >> 14)
}

// WritePNG writes a gray frame as PNG (for fixtures and inspection).
func WritePNG(w io.Writer, g *haar.Gray) error {
	img := image.NewGray(image.Rect(0, 0, g.W, g.H))
	copy(img.Pix, g.Pix)
	return png.Encode(w, img)
}

type ffFrames struct {
	cmd  *exec.Cmd
	out  io.ReadCloser
	r    *bufio.Reader
	w, h int
	buf  []byte
	errb *strings.Builder
}

// OpenFFmpeg decodes path with ffmpeg, streaming BGR frames on a pipe.
func OpenFFmpeg(ctx context.Context, path string) (Frames, error) {
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, ErrNoFFmpeg
	}
	w, h, err := probeSize(ctx, path)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "-v", "error", "-nostdin", "-i", path, "-f", "rawvideo", "-pix_fmt", "bgr24", "-")
	errb := &strings.Builder{}
	cmd.Stderr = errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("video: ffmpeg: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("video: ffmpeg: %w", err)
	}
	return &ffFrames{cmd: cmd, out: out, r: bufio.NewReaderSize(out, 1<<20), w: w, h: h, buf: make([]byte, w*h*3), errb: errb}, nil
}

// probeSize asks ffprobe (shipped with ffmpeg) for the first video
// stream's size.
func probeSize(ctx context.Context, path string) (int, int, error) {
	bin, err := exec.LookPath("ffprobe")
	if err != nil {
		return 0, 0, ErrNoFFmpeg
	}
	out, err := exec.CommandContext(ctx, bin, "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
		"-of", "csv=p=0:s=x", path).Output()
	if err != nil {
		msg := ""
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg = strings.TrimSpace(string(ee.Stderr))
		}
		return 0, 0, fmt.Errorf("video: %s: ffprobe cannot read it: %s", path, msg)
	}
	w, h, err := parseSize(strings.TrimSpace(string(out)))
	if err != nil {
		return 0, 0, fmt.Errorf("video: %s: no video stream (%w)", path, err)
	}
	return w, h, nil
}

func (f *ffFrames) Next() (*haar.Gray, error) {
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		if errors.Is(err, io.EOF) {
			if werr := f.cmd.Wait(); werr != nil {
				return nil, fmt.Errorf("video: ffmpeg: %v: %s", werr, strings.TrimSpace(f.errb.String()))
			}
			f.cmd = nil
			return nil, io.EOF
		}
		return nil, fmt.Errorf("video: ffmpeg: %w: %s", err, strings.TrimSpace(f.errb.String()))
	}
	g := &haar.Gray{W: f.w, H: f.h, Pix: make([]uint8, f.w*f.h)}
	for i := range g.Pix {
		g.Pix[i] = grayOf(f.buf[3*i], f.buf[3*i+1], f.buf[3*i+2])
	}
	return g, nil
}

func (f *ffFrames) Close() error {
	if f.cmd == nil {
		return nil
	}
	f.out.Close()
	f.cmd.Process.Kill()
	f.cmd.Wait()
	f.cmd = nil
	return nil
}
