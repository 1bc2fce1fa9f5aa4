//go:build !linux

package cgroup

import (
	"errors"
	"runtime"
)

// MachineMemory is unknown here.
func MachineMemory() int64 { return 0 }

// Manager makes no groups here.
type Manager struct{}

// Open says control groups need Linux.
func Open() (*Manager, error) {
	return nil, errors.New("control groups need Linux; this is " + runtime.GOOS)
}

// Version is "".
func (m *Manager) Version() string { return "" }

// Group is never made here.
type Group struct{ Limits Limits }

// New fails: there are no control groups here.
func (m *Manager) New(l Limits) (*Group, error) { return nil, errors.New("control groups need Linux") }

// FD is never valid.
func (g *Group) FD() (int, bool) { return -1, false }

// Procs is empty.
func (g *Group) Procs() []string { return nil }

// Counts is zero.
func (g *Group) Counts() Counts { return Counts{} }

// PeakMemory is unknown.
func (g *Group) PeakMemory() int64 { return 0 }

// Kill does nothing.
func (g *Group) Kill() {}

// Close does nothing.
func (g *Group) Close() error { return nil }
