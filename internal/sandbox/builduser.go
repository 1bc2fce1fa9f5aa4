package sandbox

import (
	"fmt"
	"os"
)

// CheckBuildUser checks --build-user at start, so a typo fails the
// command instead of every run.
func CheckBuildUser(name string) error {
	if name == "" {
		return nil
	}
	u, err := LookupUser(name)
	if err != nil {
		return fmt.Errorf("--build-user %q: no such user (fix: name an existing unprivileged user, such as nobody, or create one)", name)
	}
	if u.UID == 0 {
		return fmt.Errorf("--build-user %q is root: name an unprivileged user, the point is that steps do not run as root", name)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("--build-user %q: switching to another user needs root; run as root, or leave --build-user out", name)
	}
	return nil
}
