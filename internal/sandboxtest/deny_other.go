//go:build !linux || !(amd64 || arm64)

package sandboxtest

import (
	"errors"
	"runtime"
)

// DenyNamespaces is not written for this platform.
func DenyNamespaces() error {
	return errors.New("denying namespaces is not written for " + runtime.GOOS + "/" + runtime.GOARCH)
}
