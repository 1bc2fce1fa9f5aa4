//go:build !race

package main

var binaryBuildFlags, binaryEnv []string
