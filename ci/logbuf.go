package ci

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/provide-io/workspace-bot/workspace"
)

// Log limits. A run's output is capped as a whole (Runner.MaxLog) and per
// step (Runner.MaxStepLog); what is cut is replaced by a marker saying how
// much, keeping the head and the tail. A step's Log in the Result holds
// at most MaxLogHeld bytes of head plus the tail, so parallel steps that
// print hundreds of megabytes cost a few megabytes of memory; the tail
// shown on PRs is smaller still.
const (
	DefaultMaxLog = workspace.DefaultMaxLog // per run, when neither the config nor Runner.MaxLog says
	MaxLogHeld    = 1 << 20
	TailLines     = 50
	TailBytes     = 4 << 10
	tailKeep      = 64 << 10 // the end of a step's output, kept to close a cut log
	cutMsg        = "\n[... %d bytes cut ...]\n"
)

// logBudget is what a run may still write of its steps' output; parallel
// steps share it.
type logBudget struct {
	mu   sync.Mutex
	left int64
}

// take grants up to n bytes.
func (b *logBudget) take(n int64) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.left {
		n = b.left
	}
	if n < 0 {
		n = 0
	}
	b.left -= n
	return n
}

func (b *logBudget) give(n int64) {
	b.mu.Lock()
	b.left += n
	b.mu.Unlock()
}

// ring keeps the last len(buf) bytes written.
type ring struct {
	buf  []byte
	pos  int
	full bool
}

func (r *ring) write(p []byte) {
	if len(r.buf) == 0 {
		r.buf = make([]byte, tailKeep)
	}
	if len(p) >= len(r.buf) {
		copy(r.buf, p[len(p)-len(r.buf):])
		r.pos, r.full = 0, true
		return
	}
	n := copy(r.buf[r.pos:], p)
	if n < len(p) {
		copy(r.buf, p[n:])
		r.full = true
	}
	r.pos = (r.pos + len(p)) % len(r.buf)
	if r.pos == 0 && len(p) > 0 {
		r.full = true
	}
}

func (r *ring) bytes() []byte {
	if !r.full {
		return append([]byte(nil), r.buf[:r.pos]...)
	}
	return append(append([]byte(nil), r.buf[r.pos:]...), r.buf[:r.pos]...)
}

// stepLog collects one step's output, censored: the head up to
// MaxLogHeld and the tail in memory for the Result, and a copy to a
// stream (the run's output, or a parallel step's spool) as it comes, up
// to the step's and the run's limits. Safe for the concurrent writes of a
// command's stdout and stderr. The zero value holds the log in memory
// only, uncensored.
type stepLog struct {
	mu      sync.Mutex
	censor  *censor
	head    []byte
	tail    ring
	total   int64
	lastNL  bool // the last byte written was a newline (or nothing was)
	started bool

	stream   io.Writer
	budget   *logBudget // nil: unlimited
	room     int64      // what the stream may still take before it is cut (with budget)
	reserved int64      // taken from the budget for the tail
	streamed int64
	cut      bool
}

// newStepLog censors needles out of everything written, and copies up to
// limit bytes (from budget, when not nil) to stream, when not nil.
func newStepLog(needles []string, stream io.Writer, limit int64, budget *logBudget) *stepLog {
	l := &stepLog{stream: stream, budget: budget, room: limit}
	if stream != nil && budget != nil {
		l.reserved = budget.take(min(tailKeep, limit/2))
		l.room -= l.reserved
	}
	if len(needles) > 0 {
		l.censor = newCensor(needles, l.sink)
	}
	return l
}

func (l *stepLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.censor != nil {
		l.censor.write(p)
	} else {
		l.sink(p)
	}
	return len(p), nil
}

// sink takes censored bytes.
func (l *stepLog) sink(p []byte) {
	if len(p) == 0 {
		return
	}
	l.started = true
	l.total += int64(len(p))
	l.lastNL = p[len(p)-1] == '\n'
	if room := MaxLogHeld - len(l.head); room > 0 {
		l.head = append(l.head, p[:min(room, len(p))]...)
	}
	l.tail.write(p)
	if l.stream == nil || l.cut {
		return
	}
	n := min(int64(len(p)), l.room)
	if l.budget != nil {
		n = l.budget.take(n)
	}
	if n > 0 {
		l.stream.Write(p[:n])
		l.streamed += n
		l.room -= n
	}
	if n < int64(len(p)) {
		l.cut = true
	}
}

// flush ends the stream of the command's output: held-back bytes go out.
func (l *stepLog) flushLocked() {
	if l.censor != nil {
		l.censor.flush()
	}
}

// note appends a line of the runner's own, starting it on a fresh line.
func (l *stepLog) note(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
	msg := fmt.Sprintf(format, args...) + "\n"
	if l.started && !l.lastNL {
		msg = "\n" + msg
	}
	if l.censor != nil {
		l.censor.write([]byte(msg))
		l.censor.flush()
	} else {
		l.sink([]byte(msg))
	}
}

// finish closes the stream: when it was cut, the marker and the tail
// follow; what the tail reservation did not use goes back to the run.
func (l *stepLog) finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
	if l.stream != nil && l.cut {
		missing := l.total - l.streamed
		tail := l.tail.bytes()
		if int64(len(tail)) > l.reserved && l.budget != nil {
			tail = tail[int64(len(tail))-l.reserved:]
		}
		if int64(len(tail)) >= missing {
			l.stream.Write(tail[int64(len(tail))-missing:])
		} else {
			fmt.Fprintf(l.stream, cutMsg, missing-int64(len(tail)))
			l.stream.Write(tail)
		}
		l.reserved -= min(l.reserved, int64(len(tail)))
	}
	if l.budget != nil && l.reserved > 0 {
		l.budget.give(l.reserved)
		l.reserved = 0
	}
	l.stream = nil
}

// Log is the whole log as held in memory: complete when it fits, else its
// head, the marker and its tail.
func (l *stepLog) Log() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.logLocked())
}

func (l *stepLog) logLocked() []byte {
	if l.total <= int64(len(l.head)) {
		return l.head
	}
	missing := l.total - int64(len(l.head))
	tail := l.tail.bytes()
	if int64(len(tail)) >= missing {
		return append(l.head[:len(l.head):len(l.head)], tail[int64(len(tail))-missing:]...)
	}
	out := append(l.head[:len(l.head):len(l.head)], fmt.Sprintf(cutMsg, missing-int64(len(tail)))...)
	return append(out, tail...)
}

// Tail is the last TailLines lines, at most TailBytes.
func (l *stepLog) Tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return tailOf(string(l.tail.bytes()))
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
