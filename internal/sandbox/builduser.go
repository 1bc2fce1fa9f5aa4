package sandbox

import (
	"fmt"
	"os"
)

// CheckBuildUser checks --build-user at start, so a typo fails the
// command instead of every run. "root" is accepted: steps then run as
// the service's root on purpose, and serve warns.
func CheckBuildUser(name string) error {
	if name == "" {
		return nil
	}
	if _, err := LookupUser(name); err != nil {
		return fmt.Errorf("--build-user %q: no such user (fix: name an existing unprivileged user, such as nobody, or create one)", name)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("--build-user %q: switching to another user needs root; run as root, or leave --build-user out", name)
	}
	return nil
}
