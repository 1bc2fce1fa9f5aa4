// Package sandboxtest makes a process unable to create namespaces, as
// Docker's default seccomp profile does to an unprivileged container, so
// tests can show what happens where sandboxes cannot be made, on a
// machine where they can.
package sandboxtest
