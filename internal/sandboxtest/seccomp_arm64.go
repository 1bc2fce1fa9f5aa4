//go:build linux

package sandboxtest

const sysSeccomp = 277
