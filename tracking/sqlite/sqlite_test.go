package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
	"github.com/dawn-ml/dawn/tracking/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, root string) tracking.Store {
		s, err := sqlite.Open(t.Context(), "sqlite:///"+filepath.Join(t.TempDir(), "mlflow.db"), sqlstore.Options{ArtifactRoot: root})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
