package main

import (
	"context"
	"flag"

	"github.com/dawn-ml/dawn/explain"
)

type streamFlags struct{ on bool }

func (s *streamFlags) register(fs *flag.FlagSet) {}

func runStream(ctx context.Context, e *env, f *explainFlags, spec explain.ClassifierSpec, attrs []string, opt explain.Options) error {
	return errStreamUnavailable
}
