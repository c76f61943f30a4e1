package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/dawn-ml/dawn/labelmodel"
)

// The same names and defaults for the same things in every command.
const (
	// defaultSeed is --seed's default everywhere.
	defaultSeed = 1
	// defaultTieBreak is --tie-break's default in label run and label
	// predict: Snorkel's seeded-hash random tie-break.
	defaultTieBreak = "random"
)

// addSeedFlag adds --seed with the one default; what says what it seeds.
func addSeedFlag(fs *flag.FlagSet, what string) *uint64 {
	return fs.Uint64("seed", defaultSeed, "random seed ("+what+"); the same seed gives the same result")
}

// addTieBreakFlag adds --tie-break with the one default; what says which
// rows it decides. The function returned parses the value after
// parseFlags (a usage error when it names no policy).
func addTieBreakFlag(fs *flag.FlagSet, what string) func() (labelmodel.TieBreak, error) {
	tie := fs.String("tie-break", defaultTieBreak, what+": random (Snorkel's seeded hash), abstain or true-random")
	return func() (labelmodel.TieBreak, error) {
		p, err := labelmodel.ParseTieBreak(*tie)
		if err != nil {
			return p, usagef("--tie-break: %v", err)
		}
		return p, nil
	}
}

// deprecatedAlias registers --old as another name of the already defined
// --name. Using it works and prints a warning on w, so scripts keep running
// while they are updated.
func deprecatedAlias(fs *flag.FlagSet, w io.Writer, old, name string) {
	f := fs.Lookup(name)
	if f == nil {
		panic("dawn: alias of undefined flag --" + name)
	}
	fs.Var(&aliasValue{Value: f.Value, old: old, name: name, w: w}, old, "deprecated: use --"+name)
}

type aliasValue struct {
	flag.Value
	old, name string
	w         io.Writer
}

// String serves flag's help, which calls it on a zero aliasValue too.
func (a *aliasValue) String() string {
	if a == nil || a.Value == nil {
		return ""
	}
	return a.Value.String()
}

func (a *aliasValue) Set(v string) error {
	fmt.Fprintf(a.w, "dawn: --%s is deprecated; use --%s\n", a.old, a.name)
	return a.Value.Set(v)
}
