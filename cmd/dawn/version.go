package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at link time: go build -ldflags "-X main.version=v0.1.0".
var version = "dev"

func init() {
	register(&command{
		name:    "version",
		summary: "print the version",
		run: func(_ context.Context, e *env, args []string) error {
			fs := newFlags(e, "version", `Usage: dawn version [--json]

Example:
  dawn version --json`)
			asJSON := fs.Bool("json", false, "print JSON")
			if err := parseFlags(fs, args); err != nil {
				return err
			}
			commit := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						commit = s.Value
					}
				}
			}
			if *asJSON {
				return writeJSON(e.stdout, map[string]string{"version": version, "commit": commit, "go": runtime.Version()})
			}
			fmt.Fprintf(e.stdout, "dawn %s %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	})
}
