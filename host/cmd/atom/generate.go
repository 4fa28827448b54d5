package main

import (
	"io"

	gen "github.com/atomhq/atom/host/internal/generate"
)

// generate runs `atom generate` (see gen.Usage).
func generate(args []string, stdout io.Writer) error {
	return gen.Main(args, stdout)
}
