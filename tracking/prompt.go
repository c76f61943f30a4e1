package tracking

import "strings"

// PromptTagKey is the tag MLflow puts on registered models and model
// versions that are prompts (MLflow keeps prompts in the model registry).
const PromptTagKey = "mlflow.prompt.is_prompt"

// SplitPromptFilter applies MLflow's prompt rule to a parsed
// registered-models/search or model-versions/search filter. MLflow clients
// append "tag.`mlflow.prompt.is_prompt` != 'true'" to every registered-model
// search, and MLflow's server reads it as "leave prompts out" rather than
// as a tag comparison (which no untagged model would satisfy).
//
// As in MLflow's SqlAlchemy registry store: the query asks for prompts when
// the first clause on PromptTagKey is "= 'true'" or "!= 'false'" (values
// compared case-insensitively); then the clauses are returned unchanged and
// excludePrompts is false. Otherwise every clause on PromptTagKey is dropped
// and excludePrompts is true: the store must leave out each entity whose
// registered model name carries PromptTagKey = 'true' (in the tag table
// searched), and keep entities without that tag.
func SplitPromptFilter(clauses []Clause) (rest []Clause, excludePrompts bool) {
	for _, c := range clauses {
		if c.Entity != EntityTag || c.Key != PromptTagKey {
			continue
		}
		v := strings.ToLower(c.Str)
		if (c.Op == "=" && v == "true") || (c.Op == "!=" && v == "false") {
			return clauses, false
		}
		break
	}
	for _, c := range clauses {
		if c.Entity == EntityTag && c.Key == PromptTagKey {
			continue
		}
		rest = append(rest, c)
	}
	return rest, true
}
