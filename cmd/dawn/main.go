// Command dawn is the DAWN usable-machine-learning stack in one binary:
// labeling (Snorkel), training, tracking (MLflow), serving with cascades
// (NoScope) and explanation (MacroBase). Run `dawn help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}
