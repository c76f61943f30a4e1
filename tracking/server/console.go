package server

import (
	"net/http"

	"github.com/dawn-ml/dawn/tracking"

	"github.com/dawn-ml/dawn/tracking/auth"
	"github.com/dawn-ml/dawn/web"
)

// consoleAuthorizer answers the console's permission questions with the
// guard's decision on the user the guard signed in (admins may do
// everything; others hold their explicit permission or the default).
func consoleAuthorizer(g *auth.Guard) web.Authorizer {
	rules := map[string]tracking.Rule{auth.Read: tracking.NeedRead, auth.Edit: tracking.NeedEdit, auth.Manage: tracking.NeedManage}
	return func(r *http.Request, kind, resource, need string) bool {
		if g.IsAdmin(r.Context()) {
			return true
		}
		rule, ok := rules[need]
		if !ok {
			return false
		}
		k := auth.Experiment
		if kind == web.KindModel {
			k = auth.RegisteredModel
		}
		return g.Allowed(r.Context(), k, resource, rule)
	}
}
