package tracking

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

type (
	createModelReq struct {
		Name        string `json:"name"`
		Tags        []Tag  `json:"tags"`
		Description string `json:"description"`
	}
	modelNameReq struct {
		Name string `json:"name"`
	}
	renameModelReq struct {
		Name    string `json:"name"`
		NewName string `json:"new_name"`
	}
	updateModelReq struct {
		Name        string  `json:"name"`
		Description *string `json:"description"`
	}
	registrySearchReq struct {
		Filter     string   `json:"filter"`
		MaxResults *Int64   `json:"max_results"`
		OrderBy    []string `json:"order_by"`
		PageToken  string   `json:"page_token"`
	}
	latestVersionsReq struct {
		Name   string   `json:"name"`
		Stages []string `json:"stages"`
	}
	modelTagReq struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Key     string `json:"key"`
		Value   string `json:"value"`
	}
	aliasReq struct {
		Name    string `json:"name"`
		Alias   string `json:"alias"`
		Version string `json:"version"`
	}
	createVersionReq struct {
		Name        string `json:"name"`
		Source      string `json:"source"`
		RunID       string `json:"run_id"`
		Tags        []Tag  `json:"tags"`
		RunLink     string `json:"run_link"`
		Description string `json:"description"`
		ModelID     string `json:"model_id"`
	}
	versionReq struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	updateVersionReq struct {
		Name        string  `json:"name"`
		Version     string  `json:"version"`
		Description *string `json:"description"`
	}
	transitionReq struct {
		Name                    string `json:"name"`
		Version                 string `json:"version"`
		Stage                   string `json:"stage"`
		ArchiveExistingVersions bool   `json:"archive_existing_versions"`
	}
)

func modelName(n string) error {
	if n == "" {
		return InvalidParameterf("Registered model name cannot be empty.")
	}
	return nil
}

func versionArgs(name, version string) error {
	if err := modelName(name); err != nil {
		return err
	}
	return required("version", version)
}

var reservedAlias = regexp.MustCompile(`^[vV]\d+$`)

func validateAlias(alias string) error {
	if alias == "" {
		return InvalidParameterf("Missing value for required parameter 'alias'.")
	}
	if alias == "latest" || reservedAlias.MatchString(alias) {
		return InvalidParameterf("'%s' alias name (case insensitive) is reserved.", alias)
	}
	if len(alias) > 255 {
		return InvalidParameterf("Alias name '%.20s...' exceeds the length limit of 255", alias)
	}
	return nil
}

func (a *api) registry(add func(method, path string, rule Rule, h endpoint)) {
	s := a.store
	wrapModel := func(m *RegisteredModel, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		return map[string]any{"registered_model": m}, nil
	}
	wrapVersion := func(v *ModelVersion, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		return map[string]any{"model_version": v}, nil
	}
	add("POST", "registered-models/create", SignedIn, handle(a, func(ctx context.Context, r *createModelReq) (any, error) {
		if err := modelName(r.Name); err != nil {
			return nil, err
		}
		for _, t := range r.Tags {
			if err := ValidateRegistryTag(t); err != nil {
				return nil, err
			}
		}
		m, err := s.CreateRegisteredModel(ctx, RegisteredModel{Name: r.Name, Tags: r.Tags, Description: r.Description})
		if err == nil {
			err = a.created(ctx, KindRegisteredModel, m.Name)
		}
		return wrapModel(m, err)
	}))
	add("GET", "registered-models/get", NeedRead, handle(a, func(ctx context.Context, r *modelNameReq) (any, error) {
		if err := modelName(r.Name); err != nil {
			return nil, err
		}
		return wrapModel(s.GetRegisteredModel(ctx, r.Name))
	}))
	add("POST", "registered-models/rename", NeedManage, handle(a, func(ctx context.Context, r *renameModelReq) (any, error) {
		if err := modelName(r.Name); err != nil {
			return nil, err
		}
		if err := modelName(r.NewName); err != nil {
			return nil, err
		}
		m, err := s.RenameRegisteredModel(ctx, r.Name, r.NewName)
		if err == nil && a.authz != nil {
			err = a.authz.Renamed(ctx, r.Name, r.NewName)
		}
		return wrapModel(m, err)
	}))
	add("PATCH", "registered-models/update", NeedEdit, handle(a, func(ctx context.Context, r *updateModelReq) (any, error) {
		if err := modelName(r.Name); err != nil {
			return nil, err
		}
		return wrapModel(s.UpdateRegisteredModel(ctx, r.Name, r.Description))
	}))
	add("DELETE", "registered-models/delete", NeedManage, handle(a, func(ctx context.Context, r *modelNameReq) (any, error) {
		if err := modelName(r.Name); err != nil {
			return nil, err
		}
		if err := s.DeleteRegisteredModel(ctx, r.Name); err != nil {
			return nil, err
		}
		if a.authz != nil {
			return nil, a.authz.Deleted(ctx, KindRegisteredModel, r.Name)
		}
		return nil, nil
	}))
	add("GET", "registered-models/search", SignedIn, handle(a, func(ctx context.Context, r *registrySearchReq) (any, error) {
		var q SearchQuery
		var err error
		if q.MaxResults, err = maxResults(r.MaxResults, DefaultModelResults, MaxModelResults, "registered models"); err != nil {
			return nil, err
		}
		if q.Filter, err = ParseRegisteredModelFilter(r.Filter); err != nil {
			return nil, err
		}
		if q.OrderBy, err = ParseRegisteredModelOrderBy(r.OrderBy); err != nil {
			return nil, err
		}
		q.PageToken = r.PageToken
		ms, next, err := s.SearchRegisteredModels(ctx, q)
		if err != nil {
			return nil, err
		}
		ms = slices.DeleteFunc(ms, func(m RegisteredModel) bool { return !a.visible(ctx, KindRegisteredModel, m.Name) })
		return struct {
			RegisteredModels []RegisteredModel `json:"registered_models,omitempty"`
			NextPageToken    string            `json:"next_page_token,omitempty"`
		}{ms, next}, nil
	}))
	latest := handle(a, func(ctx context.Context, r *latestVersionsReq) (any, error) {
		if err := modelName(r.Name); err != nil {
			return nil, err
		}
		vs, err := s.GetLatestVersions(ctx, r.Name, r.Stages)
		if err != nil {
			return nil, err
		}
		return struct {
			ModelVersions []ModelVersion `json:"model_versions,omitempty"`
		}{vs}, nil
	})
	add("POST", "registered-models/get-latest-versions", NeedRead, latest)
	add("GET", "registered-models/get-latest-versions", NeedRead, latest)
	add("POST", "registered-models/set-tag", NeedEdit, handle(a, func(ctx context.Context, r *modelTagReq) (any, error) {
		if err := modelName(r.Name); err != nil {
			return nil, err
		}
		t := Tag{Key: r.Key, Value: r.Value}
		if err := ValidateRegistryTag(t); err != nil {
			return nil, err
		}
		return nil, s.SetRegisteredModelTag(ctx, r.Name, t)
	}))
	add("DELETE", "registered-models/delete-tag", NeedEdit, handle(a, func(ctx context.Context, r *modelTagReq) (any, error) {
		if err := modelName(r.Name); err != nil {
			return nil, err
		}
		if err := required("key", r.Key); err != nil {
			return nil, err
		}
		return nil, s.DeleteRegisteredModelTag(ctx, r.Name, r.Key)
	}))
	add("POST", "registered-models/alias", NeedEdit, handle(a, func(ctx context.Context, r *aliasReq) (any, error) {
		if err := versionArgs(r.Name, r.Version); err != nil {
			return nil, err
		}
		if err := validateAlias(r.Alias); err != nil {
			return nil, err
		}
		return nil, s.SetRegisteredModelAlias(ctx, r.Name, r.Alias, r.Version)
	}))
	add("DELETE", "registered-models/alias", NeedEdit, handle(a, func(ctx context.Context, r *aliasReq) (any, error) {
		if err := modelName(r.Name); err != nil {
			return nil, err
		}
		if err := required("alias", r.Alias); err != nil {
			return nil, err
		}
		return nil, s.DeleteRegisteredModelAlias(ctx, r.Name, r.Alias)
	}))
	add("GET", "registered-models/alias", NeedRead, handle(a, func(ctx context.Context, r *aliasReq) (any, error) {
		if err := modelName(r.Name); err != nil {
			return nil, err
		}
		if err := required("alias", r.Alias); err != nil {
			return nil, err
		}
		return wrapVersion(s.GetModelVersionByAlias(ctx, r.Name, r.Alias))
	}))

	add("POST", "model-versions/create", NeedEdit, handle(a, func(ctx context.Context, r *createVersionReq) (any, error) {
		if err := modelName(r.Name); err != nil {
			return nil, err
		}
		if err := required("source", r.Source); err != nil {
			return nil, err
		}
		if r.ModelID != "" {
			// MLflow 3: a version registered from a logged model.
			if _, err := s.GetLoggedModel(ctx, r.ModelID); err != nil {
				return nil, err
			}
		}
		if err := a.validateVersionSource(ctx, r.Source, r.RunID, r.ModelID, r.Tags); err != nil {
			return nil, err
		}
		if isModelsURI(r.Source) {
			// MLflow resolves a models:/ source when the version is made.
			if _, err := a.resolveModelsURI(ctx, r.Source, 0); err != nil {
				return nil, err
			}
		}
		for _, t := range r.Tags {
			if err := ValidateRegistryTag(t); err != nil {
				return nil, err
			}
		}
		mv, err := s.CreateModelVersion(ctx, ModelVersion{Name: r.Name, Source: r.Source, RunID: r.RunID, Tags: r.Tags, RunLink: r.RunLink, Description: r.Description, ModelID: r.ModelID})
		if err == nil && r.ModelID != "" {
			err = a.recordModelVersion(ctx, r.ModelID, mv.Name, mv.Version)
		}
		return wrapVersion(mv, err)
	}))
	add("GET", "model-versions/get", NeedRead, handle(a, func(ctx context.Context, r *versionReq) (any, error) {
		if err := versionArgs(r.Name, r.Version); err != nil {
			return nil, err
		}
		return wrapVersion(s.GetModelVersion(ctx, r.Name, r.Version))
	}))
	add("PATCH", "model-versions/update", NeedEdit, handle(a, func(ctx context.Context, r *updateVersionReq) (any, error) {
		if err := versionArgs(r.Name, r.Version); err != nil {
			return nil, err
		}
		return wrapVersion(s.UpdateModelVersion(ctx, r.Name, r.Version, r.Description))
	}))
	add("POST", "model-versions/transition-stage", NeedEdit, handle(a, func(ctx context.Context, r *transitionReq) (any, error) {
		if err := versionArgs(r.Name, r.Version); err != nil {
			return nil, err
		}
		if err := required("stage", r.Stage); err != nil {
			return nil, err
		}
		return wrapVersion(s.TransitionModelVersionStage(ctx, r.Name, r.Version, r.Stage, r.ArchiveExistingVersions))
	}))
	add("DELETE", "model-versions/delete", NeedManage, handle(a, func(ctx context.Context, r *versionReq) (any, error) {
		if err := versionArgs(r.Name, r.Version); err != nil {
			return nil, err
		}
		return nil, s.DeleteModelVersion(ctx, r.Name, r.Version)
	}))
	add("GET", "model-versions/search", SignedIn, handle(a, func(ctx context.Context, r *registrySearchReq) (any, error) {
		var q SearchQuery
		var err error
		if q.MaxResults, err = maxResults(r.MaxResults, DefaultVersionResults, MaxVersionResults, "model versions"); err != nil {
			return nil, err
		}
		if q.Filter, err = ParseModelVersionFilter(r.Filter); err != nil {
			return nil, err
		}
		if q.OrderBy, err = ParseModelVersionOrderBy(r.OrderBy); err != nil {
			return nil, err
		}
		q.PageToken = r.PageToken
		vs, next, err := s.SearchModelVersions(ctx, q)
		if err != nil {
			return nil, err
		}
		vs = slices.DeleteFunc(vs, func(v ModelVersion) bool { return !a.visible(ctx, KindRegisteredModel, v.Name) })
		return struct {
			ModelVersions []ModelVersion `json:"model_versions,omitempty"`
			NextPageToken string         `json:"next_page_token,omitempty"`
		}{vs, next}, nil
	}))
	add("GET", "model-versions/get-download-uri", NeedRead, handle(a, func(ctx context.Context, r *versionReq) (any, error) {
		if err := versionArgs(r.Name, r.Version); err != nil {
			return nil, err
		}
		v, err := s.GetModelVersion(ctx, r.Name, r.Version)
		if err != nil {
			return nil, err
		}
		// A version copied from another (source models:/name/version)
		// downloads from that version's storage.
		for range 10 {
			rest, ok := strings.CutPrefix(v.Source, "models:/")
			if !ok {
				break
			}
			name, ver, ok := strings.Cut(rest, "/")
			if !ok {
				break
			}
			src, err := s.GetModelVersion(ctx, name, ver)
			if err != nil {
				break
			}
			v = src
		}
		if root, ok, err := a.loggedModelURIRoot(ctx, v.Source); ok {
			// Registered from a logged model: its artifact location.
			if err != nil {
				return nil, err
			}
			return map[string]string{"artifact_uri": root}, nil
		}
		return map[string]string{"artifact_uri": v.Source}, nil
	}))
	add("POST", "model-versions/set-tag", NeedEdit, handle(a, func(ctx context.Context, r *modelTagReq) (any, error) {
		if err := versionArgs(r.Name, r.Version); err != nil {
			return nil, err
		}
		t := Tag{Key: r.Key, Value: r.Value}
		if err := ValidateRegistryTag(t); err != nil {
			return nil, err
		}
		return nil, s.SetModelVersionTag(ctx, r.Name, r.Version, t)
	}))
	add("DELETE", "model-versions/delete-tag", NeedEdit, handle(a, func(ctx context.Context, r *modelTagReq) (any, error) {
		if err := versionArgs(r.Name, r.Version); err != nil {
			return nil, err
		}
		if err := required("key", r.Key); err != nil {
			return nil, err
		}
		return nil, s.DeleteModelVersionTag(ctx, r.Name, r.Version, r.Key)
	}))
}

// maxModelsURIDepth bounds a chain of versions whose sources are models:/
// URIs of each other.
const maxModelsURIDepth = 32

func isModelsURI(s string) bool {
	scheme, _, _ := pyURLParse(s)
	return scheme == "models"
}

// resolveModelsURI follows models:/NAME/VERSION to that version's download
// URI. Other models:/ forms (stage, alias, latest, logged-model id) are not
// resolved, as in MLflow's registry store.
func (a *api) resolveModelsURI(ctx context.Context, uri string, depth int) (string, error) {
	fail := func(err error) (string, error) {
		return "", InvalidParameterf("Unable to fetch model from model URI source artifact location '%s'.Error: %v", uri, err)
	}
	if depth >= maxModelsURIDepth {
		return fail(fmt.Errorf("models:/ sources nest deeper than %d", maxModelsURIDepth))
	}
	if root, ok, err := a.loggedModelURIRoot(ctx, uri); ok {
		// models:/m-<id>: the logged model's artifacts (MLflow 3).
		if err != nil {
			var he *Error
			if errors.As(err, &he) {
				return fail(errors.New(he.Message))
			}
			return fail(err)
		}
		return root, nil
	}
	_, _, p := pyURLParse(uri)
	parts := strings.Split(strings.TrimLeft(p, "/"), "/")
	if !strings.HasPrefix(p, "/") || len(parts) != 2 || strings.TrimSpace(parts[0]) == "" || !isDigits(parts[1]) {
		return fail(fmt.Errorf("only models:/NAME/VERSION sources can be resolved, got %q", uri))
	}
	v, err := a.store.GetModelVersion(ctx, parts[0], parts[1])
	if err != nil {
		var he *Error
		if errors.As(err, &he) {
			return fail(errors.New(he.Message))
		}
		return fail(err)
	}
	if !isModelsURI(v.Source) {
		return v.Source, nil
	}
	return a.resolveModelsURI(ctx, v.Source, depth+1)
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
