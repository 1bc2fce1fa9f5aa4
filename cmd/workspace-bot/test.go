package main

import (
	"context"
	"io"
)

func runTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return exitUsage
}
