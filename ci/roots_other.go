//go:build !linux

package ci

import "errors"

// inMemory needs Linux's tmpfs and mount.
func (br *buildRoot) inMemory(size int64) error {
	return errors.New("a build root in memory needs Linux")
}
