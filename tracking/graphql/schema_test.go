package graphql

import (
	"net/http"
	"testing"
)

// TestSchemaParses: the embedded schema matches the resolvers' types.
func TestSchemaParses(t *testing.T) {
	if _, err := NewHandler(Options{API: http.NotFoundHandler()}); err != nil {
		t.Fatal(err)
	}
}
