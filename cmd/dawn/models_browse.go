package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dawn-ml/dawn/tracking"
)

// maxListModels bounds `dawn models list` and `dawn models versions`.
const maxListModels = 10000

func modelsList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "models list", `Usage: dawn models list [--filter EXPR] [--max-results 1000] [--tracking-uri URI] [--json]

Lists registered models by name with their aliases and latest version.
--filter takes MLflow's syntax, e.g. "name LIKE 'spam%'".

Example:
  dawn models list --tracking-uri http://127.0.0.1:5000`)
	uri := trackingURIFlag(fs)
	filter := fs.String("filter", "", "MLflow search filter over registered models")
	max := fs.Int("max-results", 1000, fmt.Sprintf("at most this many models (1..%d)", maxListModels))
	asJSON := fs.Bool("json", false, "print JSON on stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	err := func() error {
		if *max < 1 || *max > maxListModels {
			return usagef("models list: --max-results must be 1..%d, got %d", maxListModels, *max)
		}
		c, err := readClient("models list", *uri)
		if err != nil {
			return err
		}
		var models []tracking.RegisteredModel
		token := ""
		for len(models) < *max {
			page, next, err := c.SearchRegisteredModels(ctx, *filter, []string{"name ASC"}, min(*max-len(models), tracking.MaxModelResults), token)
			if err != nil {
				return fmt.Errorf("models list: %w", err)
			}
			models = append(models, page...)
			if token = next; token == "" || len(page) == 0 {
				break
			}
		}
		if *asJSON {
			if models == nil {
				models = []tracking.RegisteredModel{}
			}
			return writeJSON(e.stdout, map[string]any{"registered_models": models})
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tLATEST\tALIASES\tUPDATED (UTC)\tDESCRIPTION")
		for i := range models {
			m := &models[i]
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Name, latestVersion(m), aliasList(m.Aliases), millis(m.LastUpdatedTimestamp), oneLine(m.Description))
		}
		tw.Flush()
		fmt.Fprintf(e.stdout, "%d models\n", len(models))
		return nil
	}()
	return err
}

func latestVersion(m *tracking.RegisteredModel) string {
	best := 0
	for i := range m.LatestVersions {
		best = max(best, m.LatestVersions[i].Number())
	}
	if best == 0 {
		return ""
	}
	return fmt.Sprint(best)
}

func aliasList(as []tracking.RegisteredModelAlias) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.Alias + "→" + a.Version
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func millis(t tracking.Int64) string {
	if t == 0 {
		return ""
	}
	return time.UnixMilli(int64(t)).UTC().Format("2006-01-02 15:04:05")
}

// modelVersions follows the pages of name's versions, newest first.
func modelVersions(ctx context.Context, c *tracking.Client, name string, limit int) ([]tracking.ModelVersion, error) {
	var all []tracking.ModelVersion
	token := ""
	filter := "name = '" + strings.ReplaceAll(name, "'", `\'`) + "'"
	for len(all) < limit {
		page, next, err := c.SearchModelVersions(ctx, filter, nil, min(limit-len(all), tracking.MaxModelResults), token)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if token = next; token == "" || len(page) == 0 {
			break
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Number() > all[j].Number() })
	return all, nil
}

func printVersions(w io.Writer, vs []tracking.ModelVersion) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTAGE\tALIASES\tSTATUS\tRUN ID\tCREATED (UTC)\tSOURCE")
	for i := range vs {
		v := &vs[i]
		as := append([]string(nil), v.Aliases...)
		sort.Strings(as)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Version, v.CurrentStage, strings.Join(as, " "), v.Status, v.RunID, millis(v.CreationTimestamp), v.Source)
	}
	tw.Flush()
}

func modelsShow(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "models show", `Usage: dawn models show NAME [--tracking-uri URI] [--json]

Shows a registered model: description, tags, aliases and its versions.

Example:
  dawn models show spam --tracking-uri http://127.0.0.1:5000`)
	uri := trackingURIFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON on stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	err := func() error {
		if fs.NArg() != 1 {
			return usagef("models show: want one model NAME, got %d arguments", fs.NArg())
		}
		c, err := readClient("models show", *uri)
		if err != nil {
			return err
		}
		m, err := c.GetRegisteredModel(ctx, fs.Arg(0))
		if err != nil {
			return fmt.Errorf("models show: %s: %w", fs.Arg(0), err)
		}
		vs, err := modelVersions(ctx, c, m.Name, maxListModels)
		if err != nil {
			return fmt.Errorf("models show: %s versions: %w", m.Name, err)
		}
		if *asJSON {
			if vs == nil {
				vs = []tracking.ModelVersion{}
			}
			return writeJSON(e.stdout, map[string]any{"registered_model": m, "model_versions": vs})
		}
		w := e.stdout
		fmt.Fprintf(w, "model %s (created %s, updated %s)\n", m.Name, millis(m.CreationTimestamp), millis(m.LastUpdatedTimestamp))
		if m.Description != "" {
			fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(m.Description, "\n", "\n  "))
		}
		if len(m.Aliases) > 0 {
			fmt.Fprintf(w, "aliases: %s\n", aliasList(m.Aliases))
		}
		for _, t := range m.Tags {
			fmt.Fprintf(w, "tag %s = %s\n", t.Key, oneLine(t.Value))
		}
		printVersions(w, vs)
		return nil
	}()
	return err
}

func modelsVersions(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "models versions", `Usage: dawn models versions NAME [--max-results 1000] [--tracking-uri URI] [--json]

Lists the versions of a registered model, newest first, with stage,
aliases, source run and artifact source.

Example:
  dawn models versions spam --tracking-uri http://127.0.0.1:5000`)
	uri := trackingURIFlag(fs)
	max := fs.Int("max-results", 1000, fmt.Sprintf("at most this many versions (1..%d)", maxListModels))
	asJSON := fs.Bool("json", false, "print JSON on stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	err := func() error {
		if fs.NArg() != 1 {
			return usagef("models versions: want one model NAME, got %d arguments", fs.NArg())
		}
		if *max < 1 || *max > maxListModels {
			return usagef("models versions: --max-results must be 1..%d, got %d", maxListModels, *max)
		}
		c, err := readClient("models versions", *uri)
		if err != nil {
			return err
		}
		if _, err := c.GetRegisteredModel(ctx, fs.Arg(0)); err != nil {
			return fmt.Errorf("models versions: %s: %w", fs.Arg(0), err)
		}
		vs, err := modelVersions(ctx, c, fs.Arg(0), *max)
		if err != nil {
			return fmt.Errorf("models versions: %s: %w", fs.Arg(0), err)
		}
		if *asJSON {
			if vs == nil {
				vs = []tracking.ModelVersion{}
			}
			return writeJSON(e.stdout, map[string]any{"model_versions": vs})
		}
		printVersions(e.stdout, vs)
		return nil
	}()
	return err
}

func modelsAlias(ctx context.Context, e *env, args []string) error {
	return dispatch(ctx, e, "models alias", `Usage: dawn models alias set NAME ALIAS VERSION | delete NAME ALIAS [--tracking-uri URI] [--json]

An alias (e.g. champion) names one version of a registered model; serve it
with dawn serve --model models:/NAME@ALIAS. Setting an existing alias moves it.

Example:
  dawn models alias set spam champion 3 --tracking-uri http://127.0.0.1:5000
  dawn models alias delete spam champion --tracking-uri http://127.0.0.1:5000`, []subcommand{
		{"set", "point an alias at a version (moves it if set)", func(ctx context.Context, e *env, args []string) error { return aliasCmd(ctx, e, "set", args) }},
		{"delete", "delete an alias", func(ctx context.Context, e *env, args []string) error { return aliasCmd(ctx, e, "delete", args) }},
	}, args)
}

func aliasCmd(ctx context.Context, e *env, verb string, args []string) error {
	synopsis := "set NAME ALIAS VERSION"
	want := 3
	if verb == "delete" {
		synopsis, want = "delete NAME ALIAS", 2
	}
	fs := newFlags(e, "models alias "+verb, `Usage: dawn models alias `+synopsis+` [--tracking-uri URI] [--json]

Example:
  dawn models alias `+strings.Replace(strings.Replace(strings.Replace(synopsis, "NAME", "spam", 1), "ALIAS", "champion", 1), "VERSION", "3", 1)+` --tracking-uri http://127.0.0.1:5000`)
	uri := trackingURIFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON on stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	err := func() error {
		if fs.NArg() != want {
			return usagef("models alias %s: want %s, got %d arguments", verb, synopsis[len(verb)+1:], fs.NArg())
		}
		c, err := readClient("models alias "+verb, *uri)
		if err != nil {
			return err
		}
		name, alias := fs.Arg(0), fs.Arg(1)
		out := map[string]any{"name": name, "alias": alias}
		if verb == "set" {
			if err := c.SetRegisteredModelAlias(ctx, name, alias, fs.Arg(2)); err != nil {
				return fmt.Errorf("models alias set: %s@%s → %s: %w", name, alias, fs.Arg(2), err)
			}
			out["version"] = fs.Arg(2)
		} else if err := c.DeleteRegisteredModelAlias(ctx, name, alias); err != nil {
			return fmt.Errorf("models alias delete: %s@%s: %w", name, alias, err)
		}
		if *asJSON {
			return writeJSON(e.stdout, out)
		}
		if verb == "set" {
			fmt.Fprintf(e.stdout, "%s@%s → version %s\n", name, alias, fs.Arg(2))
		} else {
			fmt.Fprintf(e.stdout, "deleted alias %s@%s\n", name, alias)
		}
		return nil
	}()
	return err
}
