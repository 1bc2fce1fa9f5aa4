package ci

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// numbered is n bytes of numbered lines, so any cut shows where it is.
func numbered(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %07d\n", i)
	}
	return b.Bytes()[:n]
}

// TestStepLogCutKeepsHeadAndTail: past its limit a step's stream is cut
// with a marker that says exactly how many bytes are missing, between
// the head and the tail, whatever the write sizes.
func TestStepLogCutKeepsHeadAndTail(t *testing.T) {
	data := numbered(100000)
	for _, size := range []int{1, 7, 4096, 100000} {
		var stream bytes.Buffer
		l := newStepLog(nil, &stream, 10000, &logBudget{left: 1 << 20})
		for i := 0; i < len(data); i += size {
			l.Write(data[i:min(i+size, len(data))])
		}
		l.finish()
		want := string(data[:5000]) + fmt.Sprintf(cutMsg, 90000) + string(data[95000:])
		if stream.String() != want {
			t.Fatalf("writes of %d: stream is %d bytes, want head 5000, marker, tail 5000", size, stream.Len())
		}
		if l.Log() != string(data) {
			t.Fatalf("writes of %d: 100 kB fit in memory, yet the held log is not the output", size)
		}
	}
}

// TestRunBudgetSharedBySteps: steps together never write more than the
// run's budget; a step that finds it spent still shows its marker and
// as much tail as is left.
func TestRunBudgetSharedBySteps(t *testing.T) {
	budget := &logBudget{left: 12000}
	var stream bytes.Buffer
	data := numbered(50000)
	for i := 0; i < 3; i++ {
		l := newStepLog(nil, &stream, 10000, budget)
		l.Write(data)
		l.finish()
	}
	markers := regexp.MustCompile(`\n\[\.\.\. \d+ bytes cut \.\.\.\]\n`)
	if n := len(markers.FindAllString(stream.String(), -1)); n != 3 {
		t.Errorf("%d markers, want one per step", n)
	}
	if body := len(markers.ReplaceAllString(stream.String(), "")); body > 12000 {
		t.Errorf("steps wrote %d bytes of output, budget 12000", body)
	}
	if budget.left != 0 {
		t.Errorf("budget left %d", budget.left)
	}
}

// capture keeps what a test needs of a run's output without holding it:
// its size, its start, its end, the markers and the lines asked for.
type capture struct {
	mu      sync.Mutex
	total   int64
	head    []byte
	tail    []byte
	markers []int64
	found   map[string]bool
}

var markerRe = regexp.MustCompile(`\[\.\.\. (\d+) bytes cut \.\.\.\]`)

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += int64(len(p))
	if len(c.head) < 4096 {
		c.head = append(c.head, p[:min(len(p), 4096-len(c.head))]...)
	}
	c.tail = append(c.tail, p...)
	if len(c.tail) > 1<<20 {
		c.tail = append(c.tail[:0], c.tail[len(c.tail)-1<<20:]...)
	}
	for _, m := range markerRe.FindAllSubmatch(p, -1) {
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		c.markers = append(c.markers, n)
	}
	for k := range c.found {
		if bytes.Contains(p, []byte(k)) {
			c.found[k] = true
		}
	}
	return len(p), nil
}

// heapPeak samples the Go heap until stop is called and returns its
// peak above the level at the start.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak - base
	}
}

// TestHugeOutputIsCutAndMemoryBounded reproduces the findings: a test
// printing 300 MB grew the database by as much, and parallel setup steps
// printing 200 MB peaked at 1.42 GB. Two parallel setup steps print
// 150 MB each and the test 300 MB, all in one line: the run's output stays
// within the default 50 MB cap, each step shows its marker and its end,
// and the heap grows by a few megabytes, not hundreds.
func TestHugeOutputIsCutAndMemoryBounded(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	f.repo("beta", nil)
	cfg := f.config(sib{name: "alpha"}, sib{name: "beta"})
	print := func(n int, c, name string) string {
		return fmt.Sprintf(`head -c %d /dev/zero | tr '\0' %s; echo; echo END-%s`, n, c, name)
	}
	cfg.Sibling("alpha").Setup = []string{print(150_000_000, "a", "alpha")}
	cfg.Sibling("beta").Setup = []string{print(150_000_000, "b", "beta")}
	cfg.Workspace.CI.Test = []string{print(300_000_000, "t", "test")}
	out := &capture{found: map[string]bool{"END-alpha": false, "END-beta": false, "END-test": false}}
	r := f.runner()
	r.Secrets = []string{testSecret}
	peak := heapPeak()
	res, err := r.Run(context.Background(), Request{Config: cfg, Output: out})
	grew := peak()
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	t.Logf("600 MB of step output: %d bytes in Request.Output, heap peak +%.1f MB", out.total, float64(grew)/(1<<20))
	if out.total > DefaultMaxLog+64<<10 {
		t.Errorf("Request.Output got %d bytes, cap %d", out.total, DefaultMaxLog)
	}
	if len(out.markers) != 3 {
		t.Errorf("markers %v, want one per step", out.markers)
	}
	var cut int64
	for _, n := range out.markers {
		cut += n
	}
	if body := out.total + cut; body < 600_000_000 {
		t.Errorf("output %d + cut %d does not account for the 600 MB printed", out.total, cut)
	}
	for k, ok := range out.found {
		if !ok {
			t.Errorf("the end of the output (%s) was not kept", k)
		}
	}
	for _, st := range res.Steps {
		if st.Name == "checkout" {
			continue
		}
		end := "END-" + st.Sibling + "\n"
		if st.Sibling == "" {
			end = "END-test\n"
		}
		if len(st.Log) > MaxLogHeld+tailKeep+100 || !markerRe.MatchString(st.Log) || !strings.HasSuffix(st.Log, end) {
			t.Errorf("%s %s: held log of %d bytes, marker %v, ends %q", st.Name, st.Sibling, len(st.Log), markerRe.MatchString(st.Log), st.Log[max(0, len(st.Log)-20):])
		}
	}
	if grew > 64<<20 {
		t.Errorf("the heap grew by %d MB", grew>>20)
	}
}

// TestSpoolsAreNotLeftBehind: a parallel step's spool file is unlinked.
func TestSpoolsAreNotLeftBehind(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	sx := &stepIO{out: &bytes.Buffer{}}
	_, spool, err := sx.stream(true)
	if err != nil {
		t.Fatal(err)
	}
	defer spool.Close()
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("spool visible as %v", entries)
	}
}
