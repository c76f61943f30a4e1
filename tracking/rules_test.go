package tracking

import (
	"net/http"
	"strings"
	"testing"
)

// TestMLflow3RulesCoverRoutes: every route the MLflow 3 files register has
// a permission written down, and every rule names a real route.
func TestMLflow3RulesCoverRoutes(t *testing.T) {
	a := &api{}
	seen := map[string]bool{}
	reg := func(method, path string, _ http.HandlerFunc) { seen[method+" "+path] = true }
	a.loggedModels(reg)
	a.datasets(reg)
	a.uploads(reg)
	for ep := range seen {
		if _, ok := MLflow3Rules[ep]; !ok {
			t.Errorf("route %s has no entry in MLflow3Rules", ep)
		}
	}
	for ep, p := range MLflow3Rules {
		if !seen[ep] {
			t.Errorf("MLflow3Rules names %s, which is not registered", ep)
		}
		if p.Kind != "" && !strings.Contains("READ EDIT MANAGE", p.Need) {
			t.Errorf("%s: bad level %q", ep, p.Need)
		}
	}
}
