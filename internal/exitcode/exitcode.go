// Package exitcode is the one contract every workspace-bot command exits
// by: 0 ok, 1 tests failed, 2 usage or config error, 3 infrastructure
// error (git, GitHub, disk).
package exitcode

// The exit codes.
const (
	OK     = 0
	Failed = 1 // tests failed, or the run was cancelled
	Usage  = 2 // usage or config error
	Infra  = 3 // git, GitHub, disk
)
