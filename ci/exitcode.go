package ci

import (
	"errors"

	"github.com/provide-io/workspace-bot/internal/exitcode"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// ExitCode is the exit code of a build: its result's, or its error's (a
// bad input is a usage error; anything else kept the build from finishing).
func ExitCode(res *Result, err error) int {
	var ie *InputError
	switch {
	case errors.As(err, &ie):
		return exitcode.Usage
	case err != nil || res == nil:
		return exitcode.Infra
	}
	return lifecycle.Show(lifecycle.Done, res.Result).Exit
}
