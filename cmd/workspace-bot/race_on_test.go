//go:build race

package main

// The action's binary is built with the race detector when the tests are.
var binaryBuildFlags = []string{"-race"}
