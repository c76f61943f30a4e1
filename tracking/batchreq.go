package tracking

import (
	"bytes"
	"encoding/json"
)

// rawValidator is a request that checks its raw JSON body after decoding
// (DecodeJSON calls it), for rules the typed fields cannot see, such as a
// required field that was absent rather than zero.
type rawValidator interface {
	validateRaw(body []byte) error
}

// validateRaw applies MLflow's log-batch presence rules: each metric needs
// key, value and timestamp, each param and tag a key ("Missing value for
// required parameter 'metrics[0].timestamp'."). An absent field decodes as
// zero, so the body is scanned again only when some entry has a zero one:
// ordinary batches pay nothing.
func (r *logBatchReq) validateRaw(body []byte) error {
	suspect := false
	for _, m := range r.Metrics {
		suspect = suspect || m.Key == "" || m.Value == 0 || m.Timestamp == 0
	}
	for _, p := range r.Params {
		suspect = suspect || p.Key == ""
	}
	for _, t := range r.Tags {
		suspect = suspect || t.Key == ""
	}
	if !suspect {
		return nil
	}
	var raw struct {
		Metrics []map[string]json.RawMessage `json:"metrics"`
		Params  []map[string]json.RawMessage `json:"params"`
		Tags    []map[string]json.RawMessage `json:"tags"`
	}
	if json.Unmarshal(body, &raw) != nil {
		return nil // the typed decode accepted it; nothing more to say
	}
	for _, l := range []struct {
		name    string
		entries []map[string]json.RawMessage
		fields  []string
	}{
		{"metrics", raw.Metrics, []string{"key", "value", "timestamp"}},
		{"params", raw.Params, []string{"key"}},
		{"tags", raw.Tags, []string{"key"}},
	} {
		for i, e := range l.entries {
			for _, f := range l.fields {
				v := bytes.TrimSpace(e[f])
				if len(v) == 0 || string(v) == "null" || string(v) == `""` {
					return InvalidParameterf("Missing value for required parameter '%s[%d].%s'. See the API docs for more information about request parameters.", l.name, i, f)
				}
			}
		}
	}
	return nil
}
