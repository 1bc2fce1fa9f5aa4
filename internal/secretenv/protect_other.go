//go:build !linux

package secretenv

// Protect does nothing but read the environment where a process's
// environment cannot be replaced in place: the credentials stay where
// they were given.
func Protect(spec Spec, argv []string) (*Secrets, error) {
	if len(argv) == 0 {
		return &Secrets{}, nil
	}
	_, _, h := split(spec, nil, argv[1:])
	return &Secrets{Warnings: h.Warnings}, nil
}
