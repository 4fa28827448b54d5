package main

import (
	"errors"
	"io"
)

func generate(args []string, stdout io.Writer) error {
	return errors.New("usage: atom generate integration --provider ID --auth oauth2|api_key|basic")
}
