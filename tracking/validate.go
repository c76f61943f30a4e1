package tracking

import (
	"bytes"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Limits from MLflow's validation rules.
const (
	MaxKeyLength              = 250
	MaxParamValueLength       = 6000
	MaxTagValueLength         = 8000
	MaxExperimentTagLength    = 5000
	MaxExperimentNameLength   = 500
	MaxRegistryTagKeyLength   = 250
	MaxRegistryTagValueLength = 5000
	MaxBatchMetrics           = 1000
	MaxBatchParams            = 100
	MaxBatchTags              = 100
	MaxBatchEntities          = 1000
	MaxRequestBytes           = 1 << 20
)

// ValidateNoNUL rejects a JSON body holding a NUL character (\u0000) in any
// string, key or value: PostgreSQL cannot store one in text, so both
// backends refuse it alike, with 400 rather than a 500 from one of them.
func ValidateNoNUL(body []byte) error {
	for off := 0; ; {
		i := bytes.Index(body[off:], []byte(`\u0000`))
		if i < 0 {
			return nil
		}
		i += off
		// An escape only if preceded by an even number of backslashes
		// (`\\u0000` is a backslash and the text u0000).
		n := 0
		for j := i - 1; j >= 0 && body[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return nulError("")
		}
		off = i + 6
	}
}

func nulError(field string) error {
	if field != "" {
		return InvalidParameterf("Invalid value for parameter '%s': strings may not contain NUL (\\u0000) characters.", field)
	}
	return InvalidParameterf("Invalid request: strings may not contain NUL (\\u0000) characters.")
}

var validName = regexp.MustCompile(`^[/\w.\- :]*$`)
var validRunID = regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,255}$`)

func validateKey(kind, key string) error {
	if key == "" {
		return InvalidParameterf("Missing value for required parameter 'key'. Invalid %s name: ''", kind)
	}
	if !validName.MatchString(key) {
		return InvalidParameterf("Invalid %s name: '%s'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/).", kind, key)
	}
	if c := path.Clean(key); c != key || c == "." || strings.HasPrefix(c, "..") || key[0] == '/' {
		return InvalidParameterf("Invalid %s name: '%s'. Names cannot resolve to a different path when normalized or start with a slash.", kind, key)
	}
	if utf8.RuneCountInString(key) > MaxKeyLength {
		return InvalidParameterf("%s key '%.20s...' had length %d, which exceeded length limit of %d", kind, key, utf8.RuneCountInString(key), MaxKeyLength)
	}
	return nil
}

func validateLength(what, key, value string, limit int) error {
	if n := utf8.RuneCountInString(value); n > limit {
		return InvalidParameterf("%s '%s' had length %d, which exceeded length limit of %d", what, key, n, limit)
	}
	return nil
}

// ValidateMetric checks a metric's key.
func ValidateMetric(m Metric) error { return validateKey("metric", m.Key) }

// ValidateParam checks a param's key and value length.
func ValidateParam(p Param) error {
	if err := validateKey("param", p.Key); err != nil {
		return err
	}
	return validateLength("Param value", p.Key, p.Value, MaxParamValueLength)
}

// ValidateTag checks a run tag's key and value length.
func ValidateTag(t Tag) error {
	if err := validateKey("tag", t.Key); err != nil {
		return err
	}
	return validateLength("Tag value", t.Key, t.Value, MaxTagValueLength)
}

// ValidateExperimentTag checks an experiment tag.
func ValidateExperimentTag(t Tag) error {
	if err := validateKey("tag", t.Key); err != nil {
		return err
	}
	return validateLength("Experiment tag value", t.Key, t.Value, MaxExperimentTagLength)
}

// ValidateRegistryTag checks a registered model or model version tag.
func ValidateRegistryTag(t Tag) error {
	if t.Key == "" {
		return InvalidParameterf("Missing value for required parameter 'key'.")
	}
	if err := validateLength("Tag key", t.Key, t.Key, MaxRegistryTagKeyLength); err != nil {
		return err
	}
	return validateLength("Tag value", t.Key, t.Value, MaxRegistryTagValueLength)
}

// ValidateRunID checks the shape of a run ID.
func ValidateRunID(id string) error {
	if id == "" {
		return InvalidParameterf("Missing value for required parameter 'run_id'.")
	}
	if !validRunID.MatchString(id) {
		return InvalidParameterf("Invalid run ID: '%s'", id)
	}
	return nil
}

// ValidateExperimentName checks an experiment name.
func ValidateExperimentName(name string) error {
	if name == "" {
		return InvalidParameterf("Invalid experiment name: ''. Missing value for required parameter 'name'.")
	}
	return validateLength("Experiment name", name, name, MaxExperimentNameLength)
}

// ValidateBatch checks log-batch limits and every entity in the batch.
func ValidateBatch(metrics []Metric, params []Param, tags []Tag) error {
	if len(metrics) > MaxBatchMetrics {
		return InvalidParameterf("A batch logging request can contain at most %d metrics. Got %d metrics. Please split up metrics across multiple requests and try again.", MaxBatchMetrics, len(metrics))
	}
	if len(params) > MaxBatchParams {
		return InvalidParameterf("A batch logging request can contain at most %d params. Got %d params. Please split up params across multiple requests and try again.", MaxBatchParams, len(params))
	}
	if len(tags) > MaxBatchTags {
		return InvalidParameterf("A batch logging request can contain at most %d tags. Got %d tags. Please split up tags across multiple requests and try again.", MaxBatchTags, len(tags))
	}
	if n := len(metrics) + len(params) + len(tags); n > MaxBatchEntities {
		return InvalidParameterf("A batch logging request can contain at most %d total entities (metrics, params and tags). Got %d. Please split up across multiple requests and try again.", MaxBatchEntities, n)
	}
	for i, m := range metrics {
		if m.fields&fieldDecoded != 0 {
			for _, f := range []struct {
				bit  uint8
				name string
			}{{fieldKey, "key"}, {fieldValue, "value"}, {fieldTimestamp, "timestamp"}} {
				if m.fields&f.bit == 0 || (f.bit == fieldKey && m.Key == "") {
					return InvalidParameterf("Missing value for required parameter 'metrics[%d].%s'", i, f.name)
				}
			}
		}
		if err := ValidateMetric(m); err != nil {
			return err
		}
	}
	for i, p := range params {
		if p.Key == "" {
			return InvalidParameterf("Missing value for required parameter 'params[%d].key'. See the API docs for more information about request parameters.", i)
		}
	}
	for i, t := range tags {
		if t.Key == "" {
			return InvalidParameterf("Missing value for required parameter 'tags[%d].key'. See the API docs for more information about request parameters.", i)
		}
	}
	seen := make(map[string]string, len(params))
	for _, p := range params {
		if err := ValidateParam(p); err != nil {
			return err
		}
		if v, dup := seen[p.Key]; dup && v != p.Value {
			return InvalidParameterf("Duplicate parameter keys have been submitted: ['%s']. Please ensure the request contains only one param value per param key.", p.Key)
		}
		seen[p.Key] = p.Value
	}
	for _, t := range tags {
		if err := ValidateTag(t); err != nil {
			return err
		}
	}
	return nil
}
