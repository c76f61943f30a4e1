// Command ytsplit writes the Snorkel spam tutorial's train/dev/valid/test
// CSVs of the YouTube Spam Collection (columns COMMENT_ID, AUTHOR, DATE,
// CONTENT, CLASS, VIDEO) for the end-model scripts:
//
//	go run ./bench/train/ytsplit -out DIR
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/dawn-ml/dawn/internal/youtube"
)

func main() {
	out := flag.String("out", "youtube-split", "output directory")
	flag.Parse()
	s, err := youtube.Load(youtube.Dir())
	if err != nil {
		fmt.Fprintln(os.Stderr, "ytsplit:", err, "(set DAWN_DATA to the shared data directory)")
		os.Exit(1)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "ytsplit:", err)
		os.Exit(1)
	}
	if err := s.WriteSplits(*out); err != nil {
		fmt.Fprintln(os.Stderr, "ytsplit:", err)
		os.Exit(1)
	}
	fmt.Println("wrote", *out)
}
