package ci

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// inMemory puts a temporary root on a tmpfs of its own of size bytes, so
// that what its steps write never reaches the data dir's disk: the
// pages are counted against the memory limit of the run's cgroup, which
// wrote them. It is unmounted when the root is finished with.
func (br *buildRoot) inMemory(size int64) error {
	if br.warm || os.Geteuid() != 0 {
		return errors.New("only a temporary root, made by root, goes in memory")
	}
	if err := syscall.Mount("tmpfs", br.dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		return fmt.Errorf("mount a tmpfs on %s: %w", br.dir, err)
	}
	br.tmpfs = true
	finish := br.finish
	br.finish = func(complete bool) {
		syscall.Unmount(br.dir, syscall.MNT_DETACH)
		finish(complete)
	}
	return nil
}
