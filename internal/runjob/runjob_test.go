package runjob

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/action"
	"github.com/provide-io/workspace-bot/internal/exitcode"
)

// service answers the job's requests with the statuses in answers, in
// turn, and records what it was sent.
type service struct {
	mu      sync.Mutex
	answers []int
	auth    []string
	bodies  [][]byte
}

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var body bytes.Buffer
	body.ReadFrom(r.Body)
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.bodies = append(s.bodies, body.Bytes())
	status := http.StatusOK
	if len(s.answers) > 0 {
		status, s.answers = s.answers[0], s.answers[1:]
	}
	w.WriteHeader(status)
	if status == http.StatusOK && r.Method == http.MethodGet {
		json.NewEncoder(w).Encode(bot.RemoteJob{Run: 7, Changeset: "k"})
	}
	if status == http.StatusConflict {
		w.Write([]byte("run 7's build is over"))
	}
}

func options(url string) Options {
	return Options{Service: url, Run: 7, Token: "wbrun_t", Retry: time.Millisecond, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
}

// The plan is asked for again while the service does not answer, with
// the token; a run the service no longer wants stops the job cleanly.
func TestPlan(t *testing.T) {
	s := &service{answers: []int{503, 502}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	o := options(srv.URL)
	job, err := o.plan(context.Background())
	if err != nil || job.Run != 7 || len(s.auth) != 3 || s.auth[2] != "Bearer wbrun_t" {
		t.Fatalf("plan = %+v, %v after %d tries (%v)", job, err, len(s.auth), s.auth)
	}
	s.answers = []int{409}
	if code := Run(context.Background(), o); code != exitcode.OK || !strings.Contains(o.Stdout.(*bytes.Buffer).String(), "is not to be built") {
		t.Errorf("a run that is over: exit %d\n%s", code, o.Stdout)
	}
	s.answers = []int{401}
	if code := Run(context.Background(), o); code != exitcode.Infra {
		t.Errorf("a refused token: exit %d, want %d", code, exitcode.Infra)
	}
	if code := Run(context.Background(), options("http://127.0.0.1:1")); code != exitcode.Infra {
		t.Errorf("no service: exit %d, want %d", code, exitcode.Infra)
	}
}

// The result is posted with the log's tail, again while the service does
// not answer; a result the service no longer wants is no failure.
func TestPost(t *testing.T) {
	s := &service{answers: []int{503, 204}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	o := options(srv.URL)
	w := &action.Workflow{Out: o.Stdout}
	job := &bot.RemoteJob{Run: 7, Changeset: "k"}
	if code := o.post(context.Background(), w, job, &ci.Result{Result: ci.Failure, Changeset: "k"}, "the tail"); code != exitcode.OK {
		t.Fatalf("post: exit %d", code)
	}
	var jr bot.JobResult
	if err := json.Unmarshal(s.bodies[1], &jr); err != nil || jr.Log != "the tail" || jr.Result.Result != ci.Failure || !bytes.Equal(s.bodies[0], s.bodies[1]) {
		t.Fatalf("posted %s / %s: %v", s.bodies[0], s.bodies[1], err)
	}
	s.answers = []int{409}
	if code := o.post(context.Background(), w, job, &ci.Result{Result: ci.Success}, ""); code != exitcode.OK {
		t.Errorf("a result not wanted: exit %d", code)
	}
	s.answers = []int{400}
	if code := o.post(context.Background(), w, job, &ci.Result{Result: ci.Success}, ""); code != exitcode.Infra {
		t.Errorf("a result refused: exit %d", code)
	}
}

// The tail buffer keeps the last bytes only.
func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 5}
	b.Write([]byte("abc"))
	b.Write([]byte("defg"))
	if b.String() != "cdefg" {
		t.Errorf("tail %q", b.String())
	}
}
