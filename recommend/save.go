package recommend

import (
	"context"
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/model"
)

// ModelType is the dawn flavor's model_type of a recommender directory.
const ModelType = "recommend"

const weightsFile = "recommender.gob"

// Save writes m as a model directory: an MLmodel (model_type recommend,
// the algorithm and columns as params) and the weights, atomically.
func Save(dir string, m *Model, runID string) error {
	params := map[string]string{
		"algorithm": m.Params.Algorithm,
		"explicit":  strconv.FormatBool(m.Explicit),
		"users":     strconv.Itoa(len(m.Users)),
		"items":     strconv.Itoa(len(m.Items)),
		"user_col":  m.Cols.User,
		"item_col":  m.Cols.Item,
	}
	a := &model.Artifact{
		Type:   ModelType,
		Inputs: []model.Column{{Name: m.Cols.User, Type: "string"}},
		Outputs: []model.Column{{Name: m.Cols.Item, Type: "string"}, {Name: "rank", Type: "long"},
			{Name: "score", Type: "double"}},
		Params: params,
		RunID:  runID,
		Files: []model.File{model.WriterFile("weights", weightsFile, func(w io.Writer) error {
			return gob.NewEncoder(w).Encode(m)
		})},
	}
	if err := model.Save(dir, a); err != nil {
		return fmt.Errorf("recommend: %w", err)
	}
	return nil
}

// Load reads a recommender model directory written by Save.
func Load(dir string) (*Model, error) {
	desc, err := model.Read(dir)
	if err != nil {
		return nil, fmt.Errorf("recommend: %w", err)
	}
	return loadDesc(dir, desc)
}

func loadDesc(dir string, desc *model.MLmodel) (*Model, error) {
	if t := desc.Flavors.Dawn.ModelType; t != ModelType {
		return nil, fmt.Errorf("recommend: load %s: model_type is %q, not a recommender (%s)", dir, t, ModelType)
	}
	p, err := desc.Path(dir, "weights")
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("recommend: load %s: %w", dir, err)
	}
	defer f.Close()
	var m Model
	if err := gob.NewDecoder(f).Decode(&m); err != nil {
		return nil, fmt.Errorf("recommend: load %s: decode %s: %w", dir, weightsFile, err)
	}
	if m.Seen == nil || m.Seen.Rows != len(m.Users) || m.Seen.Cols != len(m.Items) {
		return nil, fmt.Errorf("recommend: load %s: %s is inconsistent (users, items and the training matrix disagree)", dir, weightsFile)
	}
	m.index()
	return &m, nil
}

func init() {
	model.Register(ModelType, func(dir string, desc *model.MLmodel) (model.Model, error) { return loadDesc(dir, desc) })
}

// Info describes the model for model.Load's callers (the registry, dawn
// serve): its type and its input, the user column.
func (m *Model) Info() *model.Info {
	return &model.Info{Type: ModelType, Inputs: []model.Column{{Name: m.Cols.User, Type: "string"}}}
}

// Predict is model.Model's row scoring, which a recommender does not do:
// its lists come from Recommend (dawn recommend predict, POST /recommend).
func (m *Model) Predict(ctx context.Context, rows arrow.RecordBatch) (*model.Prediction, error) {
	return nil, fmt.Errorf("recommend: a recommender (%s) ranks items per user; use 'dawn recommend predict' or POST /recommend", m.Params.Algorithm)
}
