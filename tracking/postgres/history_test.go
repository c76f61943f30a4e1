package postgres_test

import (
	"testing"

	"github.com/dawn-ml/dawn/tracking/postgres"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
	"github.com/dawn-ml/dawn/tracking/storetest"
)

func TestMetricSampler(t *testing.T) {
	s, err := postgres.Open(t.Context(), freshSchema(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.RunMetricSampler(t, s)
}

func TestMonitorStore(t *testing.T) {
	s, err := postgres.Open(t.Context(), freshSchema(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.RunMonitorStore(t, s)
}

func TestProjection(t *testing.T) {
	s, err := postgres.Open(t.Context(), freshSchema(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.RunProjection(t, s)
}

func TestWebhookStore(t *testing.T) {
	s, err := postgres.Open(t.Context(), freshSchema(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.RunWebhookStore(t, s)
}
