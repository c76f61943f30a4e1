package mbsql

import (
	"github.com/dawn-ml/dawn/internal/shareddata"

	"path/filepath"
	"testing"
)

func dataDir(t testing.TB) string {
	shareddata.Require(t, "macrobase")
	return shareddata.Dir()
}

func macrobaseFile(t testing.TB, rel string) string {
	return filepath.Join(dataDir(t), "macrobase", rel)
}
