package haar

import (
	"os/exec"
	"strconv"
	"testing"
)

// decodeFrames decodes the first n frames of a video with ffmpeg into gray
// images with OpenCV's BGR2GRAY arithmetic (the video package's reader
// does the same; this package cannot import it).
func decodeFrames(t *testing.T, path string, n int) []*Gray {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed (apt-get install ffmpeg)")
	}
	const w, h = 768, 576
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-frames:v", strconv.Itoa(n), "-f", "rawvideo", "-pix_fmt", "bgr24", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	if len(out) != n*w*h*3 {
		t.Fatalf("ffmpeg gave %d bytes, want %d frames of %d×%d", len(out), n, w, h)
	}
	var frames []*Gray
	for f := 0; f < n; f++ {
		b := out[f*w*h*3 : (f+1)*w*h*3]
		g := &Gray{W: w, H: h, Pix: make([]uint8, w*h)}
		for i := range g.Pix {
			g.Pix[i] = uint8((uint32(b[3*i])*1868 + uint32(b[3*i+1])*9617 + uint32(b[3*i+2])*4899 + 1<<13) >> 14)
		}
		frames = append(frames, g)
	}
	return frames
}
