package tracking

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// validateVersionSource checks a model-versions/create source as MLflow's
// server does (mlflow/server/handlers.py _validate_source_run), closing the
// path-traversal holes behind MLflow's file-read CVEs:
//   - a local source (a plain path or file: URI) needs run_id, and must lie
//     inside that run's artifact directory, which must itself be local;
//   - any other source must not climb with ".." (also percent-encoded), carry
//     NUL, or be anything but an absolute, already-normalised path.
//
// Prompt versions (tagged PromptTagKey) are not checked, as in MLflow.
func (a *api) validateVersionSource(ctx context.Context, source, runID, modelID string, tags []Tag) error {
	if slices.ContainsFunc(tags, func(t Tag) bool { return t.Key == PromptTagKey }) {
		return nil
	}
	local, err := isLocalURI(source)
	if err != nil {
		return err
	}
	if !local {
		return nonLocalSourceOK(source)
	}
	if modelID != "" {
		// MLflow 3: a local source must lie inside the logged model's
		// artifact directory.
		m, err := a.store.GetLoggedModel(ctx, modelID)
		if err != nil {
			return err
		}
		src := resolvePath(localURIToPath(source))
		if rootLocal, err := isLocalURI(m.Info.ArtifactURI); err == nil && rootLocal {
			dir := resolvePath(localURIToPath(m.Info.ArtifactURI))
			if src == dir || strings.HasPrefix(src, strings.TrimSuffix(dir, "/")+"/") {
				return nil
			}
		}
		return InvalidParameterf("Invalid model version source: '%s'. To use a local path as a model version "+
			"source, the model_id request parameter has to be specified and the local path has to be "+
			"contained within the artifact directory of the run specified by the model_id.", src)
	}
	shown := source
	if runID != "" {
		run, err := a.store.GetRun(ctx, runID)
		if err != nil {
			return err
		}
		src := resolvePath(localURIToPath(source))
		shown = src
		if rootLocal, err := isLocalURI(run.Info.ArtifactURI); err == nil && rootLocal {
			dir := resolvePath(localURIToPath(run.Info.ArtifactURI))
			if src == dir || strings.HasPrefix(src, strings.TrimSuffix(dir, "/")+"/") {
				return nil
			}
		}
	}
	return InvalidParameterf("Invalid model version source: '%s'. To use a local path as a model version "+
		"source, the run_id request parameter has to be specified and the local path has to be "+
		"contained within the artifact directory of the run specified by the run_id.", shown)
}

// nonLocalSourceOK is MLflow's _validate_non_local_source_contains_relative_paths.
func nonLocalSourceOK(source string) error {
	bad := InvalidParameterf("Invalid model version source: '%s'. If supplying a source as an http, https, "+
		"local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be "+
		"provided without relative path references present. Please provide an absolute path.", source)
	for {
		u := unquotePlus(source)
		if u == source {
			break
		}
		source = u
	}
	_, _, p := pyURLParse(source)
	p = multiSlash.ReplaceAllString(strings.TrimRight(p, "/"), "/")
	if strings.Contains(p, "\x00") || slices.Contains(strings.Split(source, "/"), "..") {
		return bad
	}
	if resolvePath(p) != p {
		return bad
	}
	return nil
}

var multiSlash = regexp.MustCompile(`/+`)

// isLocalURI is MLflow's is_local_uri for a non-Windows server: a URI with
// no scheme, or a file: URI on this host, is a local path. A file: URI
// naming another host is an error.
func isLocalURI(uri string) (bool, error) {
	scheme, netloc, _ := pyURLParse(uri)
	if scheme == "" {
		return true, nil
	}
	host := hostname(netloc)
	remote := host != "" && host != "." && !strings.HasPrefix(host, "localhost") && !strings.HasPrefix(host, "127.0.0.1")
	if scheme == "file" {
		if remote {
			return false, InvalidParameterf("%s is not a valid remote uri. For remote access on windows, please consider using a different scheme such as SMB (e.g. smb://<hostname>/<path>).", uri)
		}
		return true, nil
	}
	return false, nil
}

// localURIToPath is MLflow's local_file_uri_to_path: the path of a file:
// URI, percent-decoded; other strings are paths already.
func localURIToPath(uri string) string {
	p := uri
	if strings.HasPrefix(uri, "file:") {
		_, _, p = pyURLParse(uri)
	}
	if d := unquote(p, false); d != "" {
		return d
	}
	return p
}

// resolvePath is Python's pathlib.Path(p).resolve() (strict=False): made
// absolute against the working directory, cleaned, symlinks followed as far
// as the path exists.
func resolvePath(p string) string {
	if !filepath.IsAbs(p) {
		wd, err := os.Getwd()
		if err != nil {
			wd = "/"
		}
		p = filepath.Join(wd, p)
	}
	p = filepath.Clean(p)
	for dir, tail := p, ""; ; {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(r, tail)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return p
		}
		tail = filepath.Join(filepath.Base(dir), tail)
		dir = parent
	}
}

// pyURLParse splits a URL as Python's urllib.parse.urlparse does: scheme
// (lower-cased), netloc and path (without query, fragment or ;params).
func pyURLParse(u string) (scheme, netloc, path string) {
	u = strings.TrimLeft(u, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	u = strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(u)
	if i := strings.IndexByte(u, ':'); i > 0 && isSchemeStart(u[0]) && strings.IndexFunc(u[:i], func(r rune) bool { return !isSchemeChar(r) }) < 0 {
		scheme, u = strings.ToLower(u[:i]), u[i+1:]
	}
	if strings.HasPrefix(u, "//") {
		end := len(u)
		if i := strings.IndexAny(u[2:], "/?#"); i >= 0 {
			end = i + 2
		}
		netloc, u = u[2:end], u[end:]
	}
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	if slices.Contains(usesParams, scheme) && strings.Contains(u, ";") {
		i := strings.IndexByte(u[max(strings.LastIndexByte(u, '/'), 0):], ';')
		if i >= 0 {
			u = u[:max(strings.LastIndexByte(u, '/'), 0)+i]
		}
	}
	return scheme, netloc, u
}

// usesParams is urllib.parse.uses_params.
var usesParams = []string{"", "ftp", "hdl", "prospero", "http", "imap", "https", "shttp", "rtsp", "rtspu", "sip", "sips", "mms", "sftp", "tel"}

func isSchemeStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isSchemeChar(r rune) bool {
	return r < utf8.RuneSelf && (isSchemeStart(byte(r)) || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')
}

// hostname is urllib's SplitResult.hostname: the lower-cased host of a
// netloc, without user info, port or IPv6 brackets.
func hostname(netloc string) string {
	if i := strings.LastIndexByte(netloc, '@'); i >= 0 {
		netloc = netloc[i+1:]
	}
	if i := strings.IndexByte(netloc, '['); i >= 0 {
		netloc = netloc[i+1:]
		if j := strings.IndexByte(netloc, ']'); j >= 0 {
			netloc = netloc[:j]
		}
	} else if i := strings.IndexByte(netloc, ':'); i >= 0 {
		netloc = netloc[:i]
	}
	return strings.ToLower(netloc)
}

// unquotePlus is urllib.parse.unquote_plus.
func unquotePlus(s string) string { return unquote(s, true) }

// unquote decodes %XX escapes (invalid ones stay as they are) and, with
// plus, '+' as a space; bytes that are not UTF-8 become U+FFFD.
func unquote(s string, plus bool) string {
	if plus {
		s = strings.ReplaceAll(s, "+", " ")
	}
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// resolveURIIfLocal is MLflow's resolve_uri_if_local, applied to
// experiments/create's artifact_location: a relative local path is made
// absolute against the server's working directory (a relative file: URI
// becomes file:///abs/path); anything else is returned as it is.
func resolveURIIfLocal(uri string) (string, error) {
	if uri == "" {
		return uri, nil
	}
	local, err := isLocalURI(uri)
	if err != nil || !local {
		return uri, err
	}
	p := localURIToPath(uri)
	if strings.HasPrefix(p, "/") {
		return uri, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", InvalidParameterf("Cannot resolve relative artifact_location '%s': %v", uri, err)
	}
	// pathlib drops empty and "." parts but keeps "..".
	parts := []string{strings.TrimRight(wd, "/")}
	for _, s := range strings.Split(p, "/") {
		if s != "" && s != "." {
			parts = append(parts, s)
		}
	}
	abs := strings.Join(parts, "/")
	scheme, _, _ := pyURLParse(uri)
	if scheme == "" {
		return abs, nil
	}
	rest := ""
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		rest = uri[i:]
	}
	return scheme + "://" + abs + rest, nil
}
