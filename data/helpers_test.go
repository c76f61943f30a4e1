package data

import (
	"github.com/dawn-ml/dawn/internal/shareddata"

	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
)

func sharedData(tb testing.TB) string { return shareddata.Require(tb, ".") }

// youtubeRows reads the UCI YouTube spam comments (header first).
func youtubeRows(tb testing.TB) [][]string {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(sharedData(tb), "youtube_spam_uci", "Youtube0*.csv"))
	if len(files) == 0 {
		tb.Skip("youtube_spam_uci not found in shared data")
	}
	var rows [][]string
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			tb.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			tb.Fatal(err)
		}
		if rows == nil {
			rows = append(rows, recs[0])
		}
		rows = append(rows, recs[1:]...)
	}
	return rows
}

// writeYouTube writes n data rows made by repeating the YouTube comments.
func writeYouTube(tb testing.TB, path string, n int) int64 {
	tb.Helper()
	rows := youtubeRows(tb)
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write(rows[0])
	for i := 0; i < n; i++ {
		w.Write(rows[1+i%(len(rows)-1)])
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	st, _ := os.Stat(path)
	return st.Size()
}
