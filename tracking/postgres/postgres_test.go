package postgres_test

import (
	"testing"

	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/postgres"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
	"github.com/dawn-ml/dawn/tracking/storetest"
	"github.com/dawn-ml/dawn/tracking/trackingtest"
)

// freshSchema is a schema of this test's own (see trackingtest).
func freshSchema(t *testing.T) string { return trackingtest.PostgresSchema(t) }

func TestConformance(t *testing.T) {
	uri := freshSchema(t)
	storetest.Run(t, func(t *testing.T, root string) tracking.Store {
		s, err := postgres.Open(t.Context(), uri, sqlstore.Options{ArtifactRoot: root})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
