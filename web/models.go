package web

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/dawn-ml/dawn/tracking"
)

// maxModelsPage bounds the registered models listed on one page.
const maxModelsPage = tracking.MaxModelResults

func (c *console) modelsPage(w http.ResponseWriter, r *http.Request) error {
	q := tracking.SearchQuery{MaxResults: maxModelsPage}
	search := strings.TrimSpace(r.URL.Query().Get("q"))
	if search != "" {
		f, err := tracking.ParseRegisteredModelFilter("name ILIKE '%" + strings.ReplaceAll(search, "'", `\'`) + "%'")
		if err != nil {
			return err
		}
		q.Filter = f
	}
	q.OrderBy, _ = tracking.ParseRegisteredModelOrderBy([]string{"name ASC"})
	ms, _, err := c.Store.SearchRegisteredModels(r.Context(), q)
	if err != nil {
		return err
	}
	var shown []tracking.RegisteredModel
	for _, m := range ms {
		if c.can(r, KindModel, m.Name, Read) {
			shown = append(shown, m)
		}
	}
	c.render(w, r, "models", "Models", map[string]any{"Models": shown, "Q": search}, 0)
	return nil
}

func (c *console) modelPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	name := r.PathValue("name")
	m, err := c.Store.GetRegisteredModel(ctx, name)
	if err != nil {
		return err
	}
	q := tracking.SearchQuery{MaxResults: tracking.MaxModelResults}
	q.Filter, err = tracking.ParseModelVersionFilter("name = '" + strings.ReplaceAll(name, "'", `\'`) + "'")
	if err != nil {
		return err
	}
	vs, _, err := c.Store.SearchModelVersions(ctx, q)
	if err != nil {
		return err
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Number() > vs[j].Number() })
	c.render(w, r, "model", m.Name, map[string]any{"Model": m, "Versions": vs, "CanEdit": c.can(r, KindModel, name, Edit)}, 0)
	return nil
}

func (c *console) back(w http.ResponseWriter, r *http.Request) {
	c.redirect(w, r, "/models/"+url.PathEscape(r.PathValue("name")))
}

func (c *console) setAlias(w http.ResponseWriter, r *http.Request) error {
	if err := form(w, r); err != nil {
		return err
	}
	alias, version := strings.TrimSpace(r.PostForm.Get("alias")), strings.TrimSpace(r.PostForm.Get("version"))
	if err := tracking.ValidateAlias(alias); err != nil {
		return err
	}
	if version == "" {
		return badRequest("Setting alias %q needs a version", alias)
	}
	if err := c.Store.SetRegisteredModelAlias(r.Context(), r.PathValue("name"), alias, version); err != nil {
		return err
	}
	c.back(w, r)
	return nil
}

func (c *console) deleteAlias(w http.ResponseWriter, r *http.Request) error {
	if err := form(w, r); err != nil {
		return err
	}
	if err := c.Store.DeleteRegisteredModelAlias(r.Context(), r.PathValue("name"), r.PostForm.Get("alias")); err != nil {
		return err
	}
	c.back(w, r)
	return nil
}

func (c *console) setModelTag(w http.ResponseWriter, r *http.Request) error {
	if err := form(w, r); err != nil {
		return err
	}
	t := tracking.Tag{Key: strings.TrimSpace(r.PostForm.Get("key")), Value: r.PostForm.Get("value")}
	if err := tracking.ValidateRegistryTag(t); err != nil {
		return err
	}
	if err := c.Store.SetRegisteredModelTag(r.Context(), r.PathValue("name"), t); err != nil {
		return err
	}
	c.back(w, r)
	return nil
}

func (c *console) deleteModelTag(w http.ResponseWriter, r *http.Request) error {
	if err := form(w, r); err != nil {
		return err
	}
	if err := c.Store.DeleteRegisteredModelTag(r.Context(), r.PathValue("name"), r.PostForm.Get("key")); err != nil {
		return err
	}
	c.back(w, r)
	return nil
}

func (c *console) setModelDescription(w http.ResponseWriter, r *http.Request) error {
	if err := form(w, r); err != nil {
		return err
	}
	d := r.PostForm.Get("description")
	if _, err := c.Store.UpdateRegisteredModel(r.Context(), r.PathValue("name"), &d); err != nil {
		return err
	}
	c.back(w, r)
	return nil
}

func (c *console) setVersionTag(w http.ResponseWriter, r *http.Request) error {
	if err := form(w, r); err != nil {
		return err
	}
	t := tracking.Tag{Key: strings.TrimSpace(r.PostForm.Get("key")), Value: r.PostForm.Get("value")}
	if err := tracking.ValidateRegistryTag(t); err != nil {
		return err
	}
	if err := c.Store.SetModelVersionTag(r.Context(), r.PathValue("name"), r.PathValue("version"), t); err != nil {
		return err
	}
	c.back(w, r)
	return nil
}

func (c *console) setVersionDescription(w http.ResponseWriter, r *http.Request) error {
	if err := form(w, r); err != nil {
		return err
	}
	d := r.PostForm.Get("description")
	if _, err := c.Store.UpdateModelVersion(r.Context(), r.PathValue("name"), r.PathValue("version"), &d); err != nil {
		return err
	}
	c.back(w, r)
	return nil
}
