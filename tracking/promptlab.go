package tracking

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dawn-ml/dawn/model"
)

// The prompt-engineering UI's runs/create-promptlab-run: one call that
// records a prompt experiment as a finished run, as MLflow's
// _create_promptlab_run_impl does. The run gets the model parameters,
// model_route and prompt_template as params, the tags
// mlflow.loggedArtifacts and mlflow.runSourceType=PROMPT_ENGINEERING, a
// log-model history entry for its "model" artifact, and two artifacts:
// eval_results_table.json (the prompt's inputs, prompt and output as a
// one-row table) and model/ (an MLmodel with the python_function flavor
// of mlflow.prompt.promptlab_model, parameters.yaml and requirements.txt).
// When storing the artifacts fails the run is marked FAILED, as MLflow's.

// Tag keys and values of a prompt-lab run.
const (
	LoggedArtifactsTagKey = "mlflow.loggedArtifacts"
	RunSourceTypeTagKey   = "mlflow.runSourceType"
	promptLabSourceType   = "PROMPT_ENGINEERING"
	promptLabArtifacts    = `[{"path": "eval_results_table.json", "type": "table"}]`
)

// promptParam is a {key, value} whose value may be any JSON scalar.
type promptParam struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

type promptLabReq struct {
	ExperimentID          string        `json:"experiment_id"`
	RunName               string        `json:"run_name"`
	Tags                  []Tag         `json:"tags"`
	PromptTemplate        string        `json:"prompt_template"`
	PromptParameters      []promptParam `json:"prompt_parameters"`
	ModelRoute            string        `json:"model_route"`
	ModelParameters       []promptParam `json:"model_parameters"`
	ModelInput            string        `json:"model_input"`
	ModelOutput           string        `json:"model_output"`
	ModelOutputParameters []promptParam `json:"model_output_parameters"`
	MLflowVersion         string        `json:"mlflow_version"`
	UserID                string        `json:"user_id"`
	StartTime             *Int64        `json:"start_time"`
}

// resources names the experiment; a request without one is refused with
// MLflow's message before any permission is looked up.
func (r *promptLabReq) resources() ([]Resource, error) {
	if r.ExperimentID == "" {
		return nil, promptLabMissing("experiment_id")
	}
	return experimentResource(r.ExperimentID)
}

func promptLabMissing(name string) error {
	return InvalidParameterf("CreatePromptlabRun request must specify %s.", name)
}

// validate checks the request in MLflow's order, with its messages.
func (r *promptLabReq) validate() error {
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"experiment_id", r.ExperimentID != ""},
		{"prompt_template", r.PromptTemplate != ""},
		{"prompt_parameters", len(r.PromptParameters) > 0},
		{"model_route", r.ModelRoute != ""},
		{"model_input", r.ModelInput != ""},
		{"mlflow_version", r.MLflowVersion != ""},
	} {
		if !f.ok {
			return promptLabMissing(f.name)
		}
	}
	for _, t := range r.Tags {
		if err := ValidateTag(t); err != nil {
			return err
		}
	}
	return nil
}

// params turns {key, value} pairs into params, values as Python's str().
func promptParams(field string, ps []promptParam) ([]Param, error) {
	out := make([]Param, 0, len(ps))
	for i, p := range ps {
		if p.Key == "" {
			return nil, InvalidParameterf("Missing value for required parameter '%s[%d].key'.", field, i)
		}
		v, ok := pythonStr(p.Value)
		if !ok {
			v = "None"
		}
		pa := Param{Key: p.Key, Value: v}
		if err := ValidateParam(pa); err != nil {
			return nil, err
		}
		out = append(out, pa)
	}
	return out, nil
}

func (a *api) promptLab(add func(method, path string, rule Rule, h endpoint)) {
	add("POST", "runs/create-promptlab-run", NeedEdit, handle(a, func(ctx context.Context, r *promptLabReq) (any, error) {
		if err := r.validate(); err != nil {
			return nil, err
		}
		prompt, err := promptParams("prompt_parameters", r.PromptParameters)
		if err != nil {
			return nil, err
		}
		modelParams, err := promptParams("model_parameters", r.ModelParameters)
		if err != nil {
			return nil, err
		}
		outParams, err := promptParams("model_output_parameters", r.ModelOutputParameters)
		if err != nil {
			return nil, err
		}
		logged := append(append([]Param{}, modelParams...), Param{"model_route", r.ModelRoute}, Param{"prompt_template", r.PromptTemplate})
		if err := ValidateBatch(nil, logged, nil); err != nil {
			return nil, err
		}
		user := r.UserID
		if user == "" {
			user = "unknown"
		}
		start := nowMillis()
		if r.StartTime != nil {
			start = int64(*r.StartTime)
		}
		run, err := a.store.CreateRun(ctx, NewRun{ExperimentID: r.ExperimentID, UserID: user, RunName: r.RunName, StartTime: start, Tags: r.Tags})
		if err != nil {
			return nil, err
		}
		id := run.Info.RunID
		status := StatusFinished
		if err := a.recordPromptLab(ctx, run, r, prompt, modelParams, outParams, logged); err != nil {
			a.log.Error("create-promptlab-run: the run is marked FAILED", "run_id", id, "err", err)
			status = StatusFailed
		}
		end := nowMillis()
		if _, err := a.store.UpdateRun(ctx, id, RunUpdate{Status: status, EndTime: &end, RunName: r.RunName}); err != nil {
			return nil, err
		}
		run, err = a.store.GetRun(ctx, id)
		if err != nil {
			return nil, err
		}
		return map[string]any{"run": run}, nil
	}))
}

// recordPromptLab logs the run's params, tags, model history and artifacts.
func (a *api) recordPromptLab(ctx context.Context, run *Run, r *promptLabReq, prompt, modelParams, outParams, logged []Param) error {
	id := run.Info.RunID
	tags := []Tag{{LoggedArtifactsTagKey, promptLabArtifacts}, {RunSourceTypeTagKey, promptLabSourceType}}
	if err := a.store.LogBatch(ctx, id, nil, logged, tags); err != nil {
		return err
	}
	now := time.Now().UTC()
	mm := model.MLmodel{
		ArtifactPath:   "model",
		RunID:          id,
		UTCTimeCreated: now.Format("2006-01-02 15:04:05.000000"),
		ModelUUID:      model.NewUUID(),
		Flavors: model.Flavors{PythonFunction: &model.PythonFunctionFlavor{
			LoaderModule: "mlflow.prompt.promptlab_model",
			Extra:        map[string]any{"parameters_path": "parameters.yaml"},
		}},
		Signature: &model.Signature{Outputs: []model.Column{{Name: "output", Type: "string"}}},
	}
	for _, p := range prompt {
		mm.Signature.Inputs = append(mm.Signature.Inputs, model.Column{Name: p.Key, Type: "string"})
	}
	if err := a.logModelHistory(ctx, id, map[string]any{"artifact_path": "model", "run_id": id, "utc_time_created": mm.UTCTimeCreated,
		"model_uuid": mm.ModelUUID, "flavors": map[string]any{"python_function": map[string]any{"loader_module": "mlflow.prompt.promptlab_model"}}}); err != nil {
		return err
	}
	mlmodel, err := mm.Marshal()
	if err != nil {
		return err
	}
	params, err := promptLabParametersYAML(r, prompt, modelParams)
	if err != nil {
		return err
	}
	files := []struct {
		path string
		body []byte
	}{
		{"model/MLmodel", mlmodel},
		{"model/parameters.yaml", params},
		{"model/requirements.txt", []byte("mlflow[gateway]==" + r.MLflowVersion)},
		{"eval_results_table.json", promptLabResults(prompt, r.ModelInput, outParams, r.ModelOutput)},
	}
	repo, base, err := a.artifactRepo(run.Info.ArtifactURI, "write")
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := repo.Put(ctx, strings.TrimPrefix(base+"/"+f.path, "/"), bytes.NewReader(f.body)); err != nil {
			return fmt.Errorf("promptlab: write %s: %w", f.path, err)
		}
	}
	return nil
}

// promptLabResults is MLflow's eval results table: the prompt parameters'
// keys, "prompt", "output" and the output parameters' keys as columns, one
// row of their values.
func promptLabResults(prompt []Param, input string, out []Param, output string) []byte {
	var cols, row []string
	for _, p := range prompt {
		cols, row = append(cols, p.Key), append(row, p.Value)
	}
	cols, row = append(cols, "prompt", "output"), append(row, input, output)
	for _, p := range out {
		cols, row = append(cols, p.Key), append(row, p.Value)
	}
	b, _ := json.Marshal(struct {
		Columns []string   `json:"columns"`
		Data    [][]string `json:"data"`
	}{cols, [][]string{row}})
	return []byte(model.PythonJSON(string(b)))
}

// promptLabParametersYAML is the model's parameters.yaml.
func promptLabParametersYAML(r *promptLabReq, prompt, modelParams []Param) ([]byte, error) {
	asMap := func(ps []Param) map[string]string {
		m := make(map[string]string, len(ps))
		for _, p := range ps {
			m[p.Key] = p.Value
		}
		return m
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(map[string]any{
		"prompt_template":   r.PromptTemplate,
		"prompt_parameters": asMap(prompt),
		"model_parameters":  asMap(modelParams),
		"model_route":       r.ModelRoute,
	}); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}
