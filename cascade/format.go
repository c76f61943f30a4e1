package cascade

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dawn-ml/dawn/model"
)

// Files of a saved cascade directory, beside its MLmodel.
const (
	planFile     = "cascade.json"
	cheapDir     = "cheap"
	referenceDir = "reference"
)

func init() { model.Register("cascade", load) }

// ReferenceSpec says how a saved cascade reaches its reference: an
// endpoint URL, or a model directory saved inside the cascade.
type ReferenceSpec struct {
	URL         string `json:"url,omitempty"`
	Dir         string `json:"dir,omitempty"` // relative to the cascade directory
	TimeoutSecs int    `json:"timeout_seconds,omitempty"`
	Concurrency int    `json:"concurrency,omitempty"`
}

// saved is the cascade.json file.
type saved struct {
	Plan      Plan          `json:"plan"`
	Reference ReferenceSpec `json:"reference"`
	Report    *Report       `json:"report,omitempty"`
}

// Save writes the cascade as a model directory: MLmodel (model_type
// "cascade"), cascade.json (the plan and how to reach the reference), the
// cheap model under cheap/ and, when refDir is set, a copy of the local
// reference model under reference/. refURL is the reference endpoint
// otherwise.
func Save(dir string, c *Cascade, cheap Cheap, refURL, refDir string, rep *Report) error {
	if (refURL == "") == (refDir == "") {
		return errors.New("cascade: save: give the reference as a URL or a model directory")
	}
	s := saved{Plan: c.Plan, Reference: ReferenceSpec{URL: refURL}, Report: rep}
	if cl, ok := c.Reference.(*Client); ok {
		s.Reference.TimeoutSecs = int(cl.Timeout / time.Second)
		s.Reference.Concurrency = cl.Concurrency
	}
	files := []model.File{
		model.JSONFile("plan", planFile, &s),
		{Role: "cheap", Name: cheapDir, Write: cheap.Save},
	}
	if refDir != "" {
		s.Reference.Dir = referenceDir
		files = append(files, model.File{Role: "reference", Name: referenceDir, Write: func(p string) error { return copyDir(refDir, p) }})
	}
	return model.Save(dir, &model.Artifact{
		Type:    "cascade",
		Classes: c.info.Classes,
		Inputs:  c.info.Inputs,
		Files:   files,
		Params: map[string]string{
			"low":            strconv.FormatFloat(c.Plan.Low, 'g', -1, 64),
			"high":           strconv.FormatFloat(c.Plan.High, 'g', -1, 64),
			"diff_threshold": strconv.FormatFloat(c.Plan.DiffThreshold, 'g', -1, 64),
			"reference":      refURL + refDir,
		},
	})
}

func load(dir string, desc *model.MLmodel) (model.Model, error) {
	pp, err := desc.Path(dir, "plan")
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(pp)
	if err != nil {
		return nil, fmt.Errorf("cascade: load: %w", err)
	}
	var s saved
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("cascade: load %s: %w", pp, err)
	}
	cp, err := desc.Path(dir, "cheap")
	if err != nil {
		return nil, err
	}
	cheap, err := model.Load(cp)
	if err != nil {
		return nil, fmt.Errorf("cascade: load the cheap model: %w", err)
	}
	var ref model.Model
	switch {
	case s.Reference.Dir != "":
		rp, err := desc.Path(dir, "reference")
		if err != nil {
			return nil, err
		}
		if ref, err = model.Load(rp); err != nil {
			return nil, fmt.Errorf("cascade: load the reference model: %w", err)
		}
	case s.Reference.URL != "":
		ref = &Client{URL: s.Reference.URL, Classes: cheap.Info().Classes, Inputs: desc.Info().Inputs,
			Timeout: time.Duration(s.Reference.TimeoutSecs) * time.Second, Concurrency: s.Reference.Concurrency}
	default:
		return nil, fmt.Errorf("cascade: load %s: no reference URL or directory", pp)
	}
	c, err := New(cheap, ref, s.Plan)
	if err != nil {
		return nil, err
	}
	// Keep the signature the cascade was saved with.
	c.info.Inputs = desc.Info().Inputs
	return c, nil
}

// copyDir copies the regular files under src to dst.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
