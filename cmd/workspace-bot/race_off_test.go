//go:build !race

package main

var binaryBuildFlags []string
