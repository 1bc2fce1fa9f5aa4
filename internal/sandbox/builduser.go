package sandbox

import (
	"errors"
	"os"
)

// CheckBuildUser checks --build-user at start, so a typo fails the
// command instead of every run. Its errors say what is wrong with the
// name; the caller names the flag or variable it came from. "root" is accepted: steps then run as
// the service's root on purpose, and serve warns.
func CheckBuildUser(name string) error {
	if name == "" {
		return nil
	}
	if _, err := LookupUser(name); err != nil {
		return errors.New("no such user: name an existing unprivileged user, such as nobody, or create one")
	}
	if os.Geteuid() != 0 {
		return errors.New("switching to another user needs root: run as root, or leave --build-user out")
	}
	return nil
}
