package video

import (
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"strconv"

	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/video/haar"
)

// CascadeType is the model_type of a saved video cascade.
const CascadeType = "video_cascade"

// SavedCascade is a query's cascade as a model directory: the specialized
// model, the selection's calibration and thresholds, the difference
// detector's threshold (0: none), the background image the features are
// taken against, and a description of the reference it was trained on.
// A later query loads it and pays no training calls.
type SavedCascade struct {
	Model *Specialized `json:"specialized_model"`
	// Predicate is the selection's predicate the calibration is for
	// ("count(person) >= 6"); "" for aggregates.
	Predicate string      `json:"predicate,omitempty"`
	Selection *SelectPlan `json:"selection_plan,omitempty"`
	// DiffThreshold is the difference detector's skip threshold (mean
	// absolute difference of small frames; 0 = off).
	DiffThreshold  float64 `json:"diff_threshold"`
	SmallW         int     `json:"small_width"`
	SmallH         int     `json:"small_height"`
	TrainingFrames int     `json:"training_frames"`
	Reference      string  `json:"reference"`
	Background     []uint8 `json:"-"` // background.png
}

// maxCascadeFile bounds cascade.json.
const maxCascadeFile = 16 << 20

// Save writes the cascade as a model directory (MLmodel, cascade.json,
// background.png) with model.Save (temporary directory + rename).
func (c *SavedCascade) Save(dir string) error {
	if c.Model == nil {
		return fmt.Errorf("video: save cascade: no specialized model")
	}
	files := []model.File{model.JSONFile("cascade", "cascade.json", c)}
	if len(c.Background) == c.SmallW*c.SmallH && len(c.Background) > 0 {
		bg := &haar.Gray{W: c.SmallW, H: c.SmallH, Pix: c.Background}
		files = append(files, model.File{Role: "background", Name: "background.png", Write: func(p string) error {
			f, err := os.Create(p)
			if err != nil {
				return err
			}
			if err := WritePNG(f, bg); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}})
	}
	return model.Save(dir, &model.Artifact{Type: CascadeType, Files: files,
		Inputs:  []model.Column{{Name: "frame", Type: "binary"}},
		Outputs: []model.Column{{Name: "count", Type: "double"}},
		Params: map[string]string{"features": c.Model.Features, "predicate": c.Predicate, "small": strconv.Itoa(c.SmallW) + "x" + strconv.Itoa(c.SmallH),
			"reference": c.Reference}})
}

// LoadCascade reads a cascade saved by Save.
func LoadCascade(dir string) (*SavedCascade, error) {
	desc, err := model.Read(dir)
	if err != nil {
		return nil, fmt.Errorf("video: cascade: %w", err)
	}
	if desc.Flavors.Dawn == nil || desc.Flavors.Dawn.ModelType != CascadeType {
		return nil, fmt.Errorf("video: %s is not a video cascade (model type %q, want %q)", dir, desc.Info().Type, CascadeType)
	}
	p, err := desc.Path(dir, "cascade")
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("video: cascade: %w", err)
	}
	if st.Size() > maxCascadeFile {
		return nil, fmt.Errorf("video: cascade: %s is over %d bytes", p, maxCascadeFile)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("video: cascade: %w", err)
	}
	c := &SavedCascade{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("video: cascade: %s: %w", p, err)
	}
	if c.Model == nil || len(c.Model.Weights) < 2 {
		return nil, fmt.Errorf("video: cascade: %s has no specialized model", p)
	}
	if _, ok := featureSetNamed(c.Model.Features); !ok {
		return nil, fmt.Errorf("video: cascade: %s: unknown feature set %q", p, c.Model.Features)
	}
	if c.Model.Smooth < 0 || c.Model.Smooth > 100 {
		return nil, fmt.Errorf("video: cascade: %s: smooth %d outside 0 to 100", p, c.Model.Smooth)
	}
	if c.SmallW < 8 || c.SmallH < 8 || c.SmallW > 4096 || c.SmallH > 4096 {
		return nil, fmt.Errorf("video: cascade: %s: small frame size %dx%d outside 8 to 4096", p, c.SmallW, c.SmallH)
	}
	if bp, err := desc.Path(dir, "background"); err == nil {
		f, err := os.Open(bp)
		if err != nil {
			return nil, fmt.Errorf("video: cascade: %w", err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("video: cascade: %s: %w", bp, err)
		}
		g := ToGray(img)
		if g.W != c.SmallW || g.H != c.SmallH {
			return nil, fmt.Errorf("video: cascade: %s is %dx%d, the model reads %dx%d", bp, g.W, g.H, c.SmallW, c.SmallH)
		}
		c.Background = g.Pix
	}
	return c, nil
}

// apply checks the cascade fits the store and sets its background.
func (c *SavedCascade) apply(s *Store) error {
	if s.SW != c.SmallW || s.SH != c.SmallH {
		return fmt.Errorf("video: the cascade reads %dx%d frames, the query's are %dx%d (--small %dx%d)", c.SmallW, c.SmallH, s.SW, s.SH, c.SmallW, c.SmallH)
	}
	if c.Background != nil {
		s.background = c.Background
	}
	return nil
}
