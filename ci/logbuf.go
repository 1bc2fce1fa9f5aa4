package ci

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Log limits: a step's whole log is capped so a chatty test cannot fill
// memory or a run page; the tail shown on PRs is smaller still.
const (
	MaxLog       = 1 << 20
	TailLines    = 50
	TailBytes    = 4 << 10
	tailKeep     = 16 << 10 // raw bytes kept to cut the tail from
	truncatedMsg = "\n[... log truncated at %d bytes; the tail below is the end of the output ...]\n"
)

// stepLog collects one step's output: the head up to MaxLog, the last
// bytes for the tail, and a copy to a live writer. Safe for the concurrent
// writes of a command's stdout and stderr.
type stepLog struct {
	mu    sync.Mutex
	head  bytes.Buffer
	tail  []byte
	total int64
	live  io.Writer
}

func (l *stepLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total += int64(len(p))
	if room := MaxLog - l.head.Len(); room > 0 {
		if room > len(p) {
			room = len(p)
		}
		l.head.Write(p[:room])
	}
	l.tail = append(l.tail, p...)
	if len(l.tail) > tailKeep {
		l.tail = append(l.tail[:0], l.tail[len(l.tail)-tailKeep:]...)
	}
	if l.live != nil {
		l.live.Write(p)
	}
	return len(p), nil
}

// note appends a line of the runner's own, starting it on a fresh line.
func (l *stepLog) note(format string, args ...any) {
	l.mu.Lock()
	fresh := len(l.tail) == 0 || l.tail[len(l.tail)-1] == '\n'
	l.mu.Unlock()
	msg := fmt.Sprintf(format, args...) + "\n"
	if !fresh {
		msg = "\n" + msg
	}
	l.Write([]byte(msg))
}

// Log is the whole log, capped, with a note and the end of the output when
// it was cut.
func (l *stepLog) Log() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total <= MaxLog {
		return l.head.String()
	}
	return l.head.String() + fmt.Sprintf(truncatedMsg, MaxLog) + string(l.tail)
}

// Tail is the last TailLines lines, at most TailBytes.
func (l *stepLog) Tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return tailOf(string(l.tail))
}

func tailOf(s string) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > TailLines {
		lines = lines[len(lines)-TailLines:]
	}
	s = strings.Join(lines, "\n")
	if len(s) > TailBytes {
		s = s[len(s)-TailBytes:]
		if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
			s = s[i+1:]
		}
	}
	return s
}

// syncWriter serializes writes to a writer shared by parallel steps.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
