package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
	"github.com/dawn-ml/dawn/tracking/storetest"
)

func TestMetricSampler(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.RunMetricSampler(t, s)
}

func TestMonitorStore(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.RunMonitorStore(t, s)
}

func TestProjection(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.RunProjection(t, s)
}

func TestWebhookStore(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.RunWebhookStore(t, s)
}
