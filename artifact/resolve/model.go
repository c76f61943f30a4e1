package resolve

import (
	"fmt"
	"strings"

	"github.com/dawn-ml/dawn/tracking"
)

// ModelURI is a registry reference: models:/NAME/VERSION,
// models:/NAME@ALIAS, or MLflow 3's models:/m-<id> (a logged model, whose
// id is then Name and Version).
type ModelURI struct {
	Name, Version, Alias string
	Logged               bool
}

func (u ModelURI) String() string {
	if u.Logged {
		return "models:/" + u.Name
	}
	if u.Alias != "" {
		return "models:/" + u.Name + "@" + u.Alias
	}
	return "models:/" + u.Name + "/" + u.Version
}

// ParseModelURI parses a models:/ URI; ok is false for anything else (a
// directory, another scheme).
func ParseModelURI(s string) (u ModelURI, ok bool, err error) {
	rest, found := strings.CutPrefix(s, "models:/")
	if !found {
		return u, false, nil
	}
	rest = strings.TrimPrefix(rest, "/")
	if tracking.IsLoggedModelID(rest) {
		return ModelURI{Name: rest, Version: rest, Logged: true}, true, nil
	}
	if name, alias, isAlias := strings.Cut(rest, "@"); isAlias {
		if name == "" || alias == "" || strings.Contains(alias, "/") {
			return u, true, fmt.Errorf("model URI %q: want models:/NAME@ALIAS", s)
		}
		return ModelURI{Name: name, Alias: alias}, true, nil
	}
	i := strings.LastIndex(rest, "/")
	if i <= 0 || i == len(rest)-1 {
		return u, true, fmt.Errorf("model URI %q: want models:/NAME/VERSION, models:/NAME@ALIAS or models:/m-<id>", s)
	}
	return ModelURI{Name: rest[:i], Version: rest[i+1:]}, true, nil
}
