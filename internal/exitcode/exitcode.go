// Package exitcode is the one contract every workspace-bot command exits
// by: 0 ok, 1 tests failed, 2 usage or config error, 3 infrastructure
// error (git, GitHub, disk).
package exitcode

import (
	"errors"

	"github.com/provide-io/workspace-bot/ci"
)

// The exit codes.
const (
	OK     = 0
	Failed = 1 // tests failed, or the run was cancelled
	Usage  = 2 // usage or config error
	Infra  = 3 // git, GitHub, disk
)

// Of is the exit code of a build: its result, or its error.
func Of(res *ci.Result, err error) int {
	var ie *ci.InputError
	switch {
	case errors.As(err, &ie):
		return Usage
	case err != nil || res == nil:
		return Infra
	}
	return OfResult(res.Result)
}

// OfResult is the exit code of a result: success, failure, cancelled or
// error.
func OfResult(result string) int {
	switch result {
	case ci.Success:
		return OK
	case ci.Failure, ci.Cancelled:
		return Failed
	}
	return Infra
}
