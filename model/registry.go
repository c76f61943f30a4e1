package model

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Loader opens a model directory whose MLmodel has already been read and
// validated. It reads its files through desc.Path(dir, role).
type Loader func(dir string, desc *MLmodel) (Model, error)

var (
	regMu   sync.RWMutex
	loaders = map[string]Loader{}
)

// Register makes a model type loadable by Load. It is meant for init
// functions; registering a type twice is a programming error and panics.
func Register(modelType string, l Loader) {
	regMu.Lock()
	defer regMu.Unlock()
	if modelType == "" || l == nil {
		panic("model: Register with an empty type or nil loader")
	}
	if _, dup := loaders[modelType]; dup {
		panic("model: Register called twice for type " + modelType)
	}
	loaders[modelType] = l
}

// Types lists the registered model types, sorted.
func Types() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(loaders))
	for t := range loaders {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Load opens the model saved in dir: it reads MLmodel, checks the format
// version and hands dir to the Loader registered for its model_type.
func Load(dir string) (Model, error) {
	desc, err := Read(dir)
	if err != nil {
		return nil, err
	}
	t := desc.Flavors.Dawn.ModelType
	regMu.RLock()
	l, ok := loaders[t]
	regMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("model: load %s: model_type %q (known: %s): %w; is the package that defines it linked in?",
			dir, t, strings.Join(Types(), ", "), ErrUnknownType)
	}
	m, err := l(dir, desc)
	if err != nil {
		return nil, fmt.Errorf("model: load %s (%s): %w", dir, t, err)
	}
	return m, nil
}
