package main

import "context"

func init() {
	register(&command{
		name:    "help",
		summary: "list the commands",
		run: func(_ context.Context, e *env, args []string) error {
			if len(args) > 0 {
				if c, ok := commands[args[0]]; ok {
					return c.run(context.Background(), e, []string{"--help"})
				}
				return usagef("help: unknown command %q", args[0])
			}
			printHelp(e.stdout)
			return nil
		},
	})
}
