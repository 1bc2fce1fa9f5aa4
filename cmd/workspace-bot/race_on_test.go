//go:build race

package main

// The action's binary is built with the race detector when the tests are.
var binaryBuildFlags = []string{"-race"}

// binaryEnv is added to the binary's environment: a race-detecting
// program that succeeds otherwise waits a second before it exits, for
// reports from threads still running; the tests have none to wait for.
var binaryEnv = []string{"GORACE=atexit_sleep_ms=0"}
