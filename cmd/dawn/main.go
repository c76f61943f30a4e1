// Command dawn is the DAWN usable-machine-learning stack in one binary:
// labeling (Snorkel), training, tracking (MLflow), serving with cascades
// (NoScope) and explanation (MacroBase). Run `dawn help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// DAWN_CPUPROFILE=file writes a CPU profile of the command, for tuning.
	if p := os.Getenv("DAWN_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			pprof.StartCPUProfile(f)
			defer f.Close()
		}
	}
	code := run(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	pprof.StopCPUProfile()
	stop()
	os.Exit(code)
}
