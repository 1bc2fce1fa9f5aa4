package bot

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/clock"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/workspace"
)

// fakeGitHub keeps PRs, statuses, comments and reactions in memory.
type fakeGitHub struct {
	mu        sync.Mutex
	prs       map[string]*changeset.PR
	statuses  map[string][]Status // by repo@sha
	comments  map[string][]Comment
	reactions map[int64][]string
	perms     map[string]string // by user
	nextID    int64
	// Error, when set, fails every call.
	Error error
	// failFinal fails that many of the next final (not pending) statuses;
	// loseComments creates that many of the next comments but answers
	// with an error, as when the answer is lost on the way back.
	failFinal, loseComments int
}

// errLost is an answer that never came back.
var errLost = errors.New("connection reset by peer")

func newFakeGitHub() *fakeGitHub {
	return &fakeGitHub{prs: map[string]*changeset.PR{}, statuses: map[string][]Status{},
		comments: map[string][]Comment{}, reactions: map[int64][]string{}, perms: map[string]string{}, nextID: 100}
}

func (f *fakeGitHub) addPR(pr *changeset.PR) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pr.State == "" {
		pr.State = "open"
	}
	cp := *pr
	f.prs[pr.Ref()] = &cp
}

func (f *fakeGitHub) PullRequest(_ context.Context, repo string, n int) (*changeset.PR, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Error != nil {
		return nil, f.Error
	}
	pr, ok := f.prs[fmt.Sprintf("%s#%d", repo, n)]
	if !ok {
		return nil, fmt.Errorf("%s#%d: %w", repo, n, changeset.ErrNotFound)
	}
	cp := *pr
	return &cp, nil
}

func (f *fakeGitHub) OpenPullRequests(_ context.Context, repo string) ([]*changeset.PR, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*changeset.PR
	for _, pr := range f.prs {
		if pr.Repo == repo && pr.State == "open" {
			cp := *pr
			out = append(out, &cp)
		}
	}
	return out, f.Error
}

func (f *fakeGitHub) EditPullRequestBody(_ context.Context, repo string, n int, body string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	pr, ok := f.prs[fmt.Sprintf("%s#%d", repo, n)]
	if !ok {
		return changeset.ErrNotFound
	}
	pr.Body = body
	return f.Error
}

func (f *fakeGitHub) SetStatus(_ context.Context, repo, sha string, st Status) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Error != nil {
		return f.Error
	}
	if st.State != "pending" && f.failFinal > 0 {
		f.failFinal--
		return fmt.Errorf("setting status on %s@%s: 502 Bad Gateway", repo, sha)
	}
	f.statuses[repo+"@"+sha] = append(f.statuses[repo+"@"+sha], st)
	return nil
}

func (f *fakeGitHub) Comments(_ context.Context, repo string, n int) ([]Comment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Comment(nil), f.comments[fmt.Sprintf("%s#%d", repo, n)]...), f.Error
}

func (f *fakeGitHub) CreateComment(_ context.Context, repo string, n int, body string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Error != nil {
		return 0, f.Error
	}
	f.nextID++
	k := fmt.Sprintf("%s#%d", repo, n)
	f.comments[k] = append(f.comments[k], Comment{ID: f.nextID, Body: body, User: "workspace-bot"})
	if f.loseComments > 0 {
		f.loseComments--
		return 0, errLost
	}
	return f.nextID, nil
}

func (f *fakeGitHub) EditComment(_ context.Context, repo string, id int64, body string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, cs := range f.comments {
		for i := range cs {
			if cs[i].ID == id {
				f.comments[k][i].Body = body
				return f.Error
			}
		}
	}
	return changeset.ErrNotFound
}

func (f *fakeGitHub) React(_ context.Context, _ string, id int64, content string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reactions[id] = append(f.reactions[id], content)
	return f.Error
}

func (f *fakeGitHub) Permission(_ context.Context, _, user string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.perms[user]; ok {
		return p, f.Error
	}
	return "read", f.Error
}

func (f *fakeGitHub) lastState(repo, sha string) Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.statuses[repo+"@"+sha]
	if len(s) == 0 {
		return Status{}
	}
	return s[len(s)-1]
}

func (f *fakeGitHub) commentsOn(ref string) []Comment {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Comment(nil), f.comments[ref]...)
}

// fakeBuilder returns Value or Error; with Block set it waits for the
// context (or Block to close) first, like a slow test step.
type fakeBuilder struct {
	mu    sync.Mutex
	Value *ci.Result
	Error error
	Block chan struct{}
	Panic string
	// Events are told to a run's Progress before it blocks.
	Events []ci.Event
	calls  []ci.Request
	starts chan ci.Request
}

func (f *fakeBuilder) Run(ctx context.Context, req ci.Request) (*ci.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	block, val, err, p, starts, events := f.Block, f.Value, f.Error, f.Panic, f.starts, f.Events
	f.mu.Unlock()
	if req.Progress != nil {
		for _, e := range events {
			req.Progress(e)
		}
	}
	if starts != nil {
		starts <- req
	}
	if p != "" {
		panic(p)
	}
	fmt.Fprintf(req.Output, "building %s\n", req.Changeset)
	if block != nil {
		select {
		case <-ctx.Done():
			return &ci.Result{Result: ci.Cancelled, Changeset: req.Changeset, Error: "cancelled"}, nil
		case <-block:
		}
	}
	if val == nil {
		return &ci.Result{Result: ci.Error, Changeset: req.Changeset}, err
	}
	cp := *val
	cp.Changeset = req.Changeset
	return &cp, err
}

func (f *fakeBuilder) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeBuilder) set(fn func(f *fakeBuilder)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// fakeResolver follows Depends-On-free fixtures: the changeset of a PR is
// the group it was put in, read from the fake GitHub at call time.
type fakeResolver struct {
	gh     *fakeGitHub
	groups [][]string // refs that form one changeset
	Error  error
}

// resolve asks opts.Trusted about every member, as changeset.Resolve
// does, and marks the start.
func (r *fakeResolver) resolve(ctx context.Context, _ changeset.GitHub, cfg *workspace.Config, start changeset.Ref, opts changeset.Options) (*changeset.Changeset, error) {
	if r.Error != nil {
		return nil, r.Error
	}
	group := []string{start.String()}
	for _, g := range r.groups {
		for _, ref := range g {
			if ref == start.String() {
				group = g
			}
		}
	}
	cs := &changeset.Changeset{}
	var shas []string
	for _, ref := range group {
		i := strings.LastIndex(ref, "#")
		var n int
		fmt.Sscan(ref[i+1:], &n)
		pr, err := r.gh.PullRequest(ctx, ref[:i], n)
		if err != nil {
			return nil, err
		}
		if pr.State != "open" {
			return nil, fmt.Errorf("%s is closed: reopen it or remove its Depends-On line", ref)
		}
		sib := cfg.SiblingByRepo(pr.Repo)
		name := ""
		if sib != nil {
			name = sib.Name
		}
		m := changeset.Member{PR: pr, Sibling: name, Trusted: true}
		if opts.Trusted != nil {
			if m.Trusted, err = opts.Trusted(ctx, pr); err != nil {
				return nil, err
			}
		}
		if ref == start.String() {
			m.Links = []changeset.Link{changeset.LinkStart}
		}
		cs.Members = append(cs.Members, m)
		shas = append(shas, pr.HeadSHA)
	}
	cs.Key = strings.Join(group, ",")
	cs.RunID = strings.Join(shas, "-")
	return cs, nil
}

const testConfig = `
[workspace]
name = "ws"
repo = "https://github.example/acme/ws.git"

[workspace.ci]
test = ["true"]

[[siblings]]
name = "core"
path = "../core"
repo = "https://github.example/acme/core.git"
layer = "foundation"

[[siblings]]
name = "lib"
path = "../lib"
repo = "https://github.example/acme/lib.git"
layer = "framework"
depends_on = ["core"]

[[siblings]]
name = "app"
path = "../app"
repo = "https://github.example/acme/app.git"
layer = "tools"
depends_on = ["lib"]
`

type harness struct {
	t   *testing.T
	clk *clock.Fake
	// window is the queue's coalescing window: settle moves the clock
	// past it.
	window time.Duration
	gh     *fakeGitHub
	bld    *fakeBuilder
	res    *fakeResolver
	st     *store.Store
	bot    *Bot
	q      *Queue
	cfg    *workspace.Config
}

// setup is what a test may change before the harness starts.
type setup struct {
	Options
	Queue QueueOptions
	Store *store.Store
	// Executor, when set, makes the queue's executor for the bot.
	Executor func(b *Bot, st *store.Store) Executor
	// Flaky keeps the tests' history in the store (Options.Flaky).
	Flaky bool
}

func newHarness(t *testing.T, mutate func(*setup)) *harness {
	t.Helper()
	cfg, _, err := workspace.Parse("wrknv.toml", []byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	// The fake clock starts at the machine's time, so runs a test stores
	// itself (with the machine's clock) are due on it too.
	h := &harness{t: t, clk: clock.NewFake(time.Now()), gh: newFakeGitHub(), bld: &fakeBuilder{Value: &ci.Result{Result: ci.Success}}, cfg: cfg}
	// alice, the maintainer of these tests, can push.
	h.gh.perms["alice"] = "write"
	h.res = &fakeResolver{gh: h.gh}
	file := &ConfigFile{Config: cfg, Name: "wrknv.toml", Text: []byte(testConfig)}
	s := setup{
		Options: Options{
			GitHub: h.gh, Builder: h.bld,
			Config:    func(context.Context) (*ConfigFile, error) { return file, nil },
			Resolve:   h.res.resolve,
			PublicURL: "https://bot.example/",
			Self:      func(context.Context) (string, error) { return "workspace-bot", nil },
			Clock:     h.clk,
		},
		Queue: QueueOptions{CoalesceWindow: 50 * time.Millisecond, Poll: 20 * time.Millisecond},
	}
	if mutate != nil {
		mutate(&s)
	}
	if s.Store == nil {
		if s.Store, err = store.Open(context.Background(), filepath.Join(t.TempDir(), "bot.db"), store.WithClock(h.clk)); err != nil {
			t.Fatal(err)
		}
	}
	h.st = s.Store
	if s.Flaky {
		s.Options.Flaky = s.Store
	}
	h.window = s.Queue.CoalesceWindow
	s.Records, s.Queue.Runs, s.Queue.Deliveries, s.Queue.Decode = h.st, h.st, h.st, noDecoder
	if h.bot, err = New(s.Options); err != nil {
		t.Fatal(err)
	}
	if s.Executor != nil {
		s.Queue.Executor = s.Executor(h.bot, h.st)
	}
	if h.q, err = NewQueue(h.bot, s.Queue); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.q.Stop(time.Second)
		h.st.Close()
	})
	return h
}

// noDecoder: the tests hand the bot its events decoded (internal/gh
// decodes payloads, and has tests of its own).
func noDecoder(event string, _ []byte) (Event, error) {
	return nil, fmt.Errorf("no %s deliveries in these tests", event)
}

// settle moves the clock past the coalescing window and does all the
// work then due, in this goroutine: once it returns the core is idle.
func (h *harness) settle() {
	h.t.Helper()
	h.advance(h.window)
}

// advance moves the clock on by d and does all the work then due.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.clk.Advance(d)
	if err := h.q.Drain(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

// expect settles the core, then checks cond: what has not happened once
// the core is idle will not.
func (h *harness) expect(what string, cond func() bool) {
	h.t.Helper()
	h.settle()
	if !cond() {
		h.t.Fatalf("the queue is idle and there is no %s", what)
	}
}

// building settles the core in the background until a build that blocks
// has started; the returned channel closes when that drain ends.
func (h *harness) building() <-chan struct{} {
	h.t.Helper()
	h.bld.mu.Lock()
	if h.bld.starts == nil {
		h.bld.starts = make(chan ci.Request, 16)
	}
	starts := h.bld.starts
	h.bld.mu.Unlock()
	h.clk.Advance(h.window)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := h.q.Drain(context.Background()); err != nil {
			h.t.Error(err)
		}
	}()
	select {
	case <-starts:
	case <-done:
		h.t.Fatal("the queue went idle with no build started")
	}
	return done
}
