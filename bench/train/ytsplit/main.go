// Command ytsplit writes the Snorkel spam tutorial's train/dev/valid/test
// CSVs of the YouTube Spam Collection: go run ./bench/train/ytsplit -out DIR.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/dawn-ml/dawn/bench/train/youtube"
)

func main() {
	out := flag.String("out", "youtube-split", "output directory")
	flag.Parse()
	dir, ok := youtube.Dir()
	if !ok {
		fmt.Fprintln(os.Stderr, "ytsplit: youtube_spam_uci not found; set DAWN_DATA")
		os.Exit(1)
	}
	if err := youtube.WriteSplit(dir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "ytsplit:", err)
		os.Exit(1)
	}
	fmt.Println("wrote", *out)
}
