package server

import (
	"net/http"

	"github.com/dawn-ml/dawn/tracking/auth"
	"github.com/dawn-ml/dawn/web"
)

// permRank orders MLflow's permission names.
var permRank = map[string]int{auth.NoPermissions: 0, auth.Read: 1, auth.Edit: 2, auth.Manage: 3}

// consoleAuthorizer answers the console's permission questions with the
// guard's users and permissions: admins may do everything, others hold
// their explicit permission or the guard's default. The guard has already
// authenticated the request; the store caches the password check.
func consoleAuthorizer(g *auth.Guard) web.Authorizer {
	return func(r *http.Request, kind, resource, need string) bool {
		name, pass, ok := r.BasicAuth()
		if !ok {
			return false
		}
		u, ok := g.Users.Authenticate(r.Context(), name, pass)
		if !ok {
			return false
		}
		if u.IsAdmin {
			return true
		}
		k := auth.Experiment
		if kind == web.KindModel {
			k = auth.RegisteredModel
		}
		have, err := g.Users.Permission(r.Context(), k, resource, u.ID)
		if err != nil || have == "" {
			have = g.Default
		}
		return permRank[have] >= permRank[need]
	}
}
