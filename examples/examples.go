// Package examples embeds the example labeling-function files that
// `dawn quickstart` runs, so the binary needs nothing beside it but data.
package examples

import _ "embed"

// YouTubeLFs is the Snorkel spam tutorial's seven keyword, regex and
// length LFs (examples/youtube/lfs.yaml).
//
//go:embed youtube/lfs.yaml
var YouTubeLFs []byte
