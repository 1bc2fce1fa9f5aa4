// Package bot turns GitHub events into changeset runs: it resolves the
// changeset a PR belongs to, queues one run per changeset, builds it with
// ci, and reports one combined result on every member PR. It also reads
// comment commands and decides whose code may run.
package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/workspace"
)

// GitHub is what the bot calls on GitHub.
type GitHub interface {
	changeset.GitHub
	EditPullRequestBody(ctx context.Context, repo string, number int, body string) error
	SetStatus(ctx context.Context, repo, sha string, st Status) error
	Comments(ctx context.Context, repo string, number int) ([]Comment, error)
	CreateComment(ctx context.Context, repo string, number int, body string) (int64, error)
	EditComment(ctx context.Context, repo string, id int64, body string) error
	React(ctx context.Context, repo string, commentID int64, content string) error
	Permission(ctx context.Context, repo, user string) (string, error)
}

// Checks is what the bot calls to report with check runs, when it runs as
// a GitHub App (a token cannot create check runs).
type Checks interface {
	CreateCheckRun(ctx context.Context, repo, sha string, cr CheckRun) (int64, error)
	UpdateCheckRun(ctx context.Context, repo string, id int64, cr CheckRun) error
}

// Store is the durable state the bot keeps.
type Store interface {
	ClaimDelivery(ctx context.Context) (*store.Delivery, error)
	FinishDelivery(ctx context.Context, id string, handleErr error) error
	EnqueueRun(ctx context.Context, r store.Run, window time.Duration) (int64, bool, error)
	ClaimRun(ctx context.Context, now time.Time) (*store.Run, error)
	NextRunDue(ctx context.Context) (time.Time, bool, error)
	RunningRuns(ctx context.Context, key string) ([]store.Run, error)
	RecentRuns(ctx context.Context, limit int) ([]store.Run, error)
	FinishRun(ctx context.Context, id int64, state string, result []byte) error
	CancelRun(ctx context.Context, id, supersededBy int64) (bool, error)
	SetRunState(ctx context.Context, id int64, state string) error
	GetRun(ctx context.Context, id int64) (*store.Run, error)
	LatestRun(ctx context.Context, key string) (*store.Run, error)
	AppendLog(ctx context.Context, runID int64, chunk []byte) error
	RequeueInterrupted(ctx context.Context) (int, error)
	Approve(ctx context.Context, a store.Approval) error
	Approved(ctx context.Context, key, shas string) (bool, error)
	CommentID(ctx context.Context, repo string, number int) (int64, bool, error)
	SetCommentID(ctx context.Context, repo string, number int, id int64) error
	Meta(ctx context.Context, key string) (string, bool, error)
	SetMeta(ctx context.Context, key, value string) error
}

// Builder builds and tests a workspace; *ci.Runner is one.
type Builder interface {
	Run(ctx context.Context, req ci.Request) (*ci.Result, error)
}

// ConfigSource returns the workspace config to use now. A source that reads
// wrknv.toml from GitHub reads it again each call, so a change lands on
// the next run.
type ConfigSource func(ctx context.Context) (*workspace.Config, error)

// Resolver resolves the changeset that start belongs to.
type Resolver func(ctx context.Context, gh changeset.GitHub, cfg *workspace.Config, start changeset.Ref) (*changeset.Changeset, error)

// Options configure a Bot.
type Options struct {
	GitHub  GitHub
	Checks  Checks // set when running as a GitHub App: report with check runs
	Store   Store
	Builder Builder
	Config  ConfigSource
	Resolve Resolver
	// Decode reads stored deliveries (gh.DecodeEvent); Handle needs none.
	Decode Decoder
	Log    logrus.FieldLogger
	// Workers is how many runs build at once; deliveries are handled by as
	// many workers again (at least two), so a push is read and cancels the
	// run it supersedes while every run worker is busy.
	Workers int
	// CoalesceWindow is how long a queued run waits for more events of
	// its changeset before it starts.
	CoalesceWindow time.Duration
	// PublicURL is where the service's run pages are reachable, for
	// status target URLs: <PublicURL>/runs/<id>.
	PublicURL string
	// RunURL, when set, links a run instead of <PublicURL>/runs/<id>: the
	// Action links the workflow run, where its logs are.
	RunURL func(id int64) string
	// Poll bounds how long an idle worker sleeps without a Notify.
	Poll time.Duration
	// OnDelivery and OnRun, when set, are told of each finished job, for
	// metrics.
	OnDelivery func(event, outcome string)
	OnRun      func(state string, d time.Duration)
}

// Defaults.
const (
	DefaultCoalesceWindow = 2 * time.Second
	DefaultWorkers        = 2
	DefaultPoll           = time.Second
)

// Bot is the service's orchestrator. Start it, Notify it when work lands,
// Stop it to drain.
type Bot struct {
	opt Options
	gh  GitHub
	st  Store
	log logrus.FieldLogger

	wake chan struct{}

	mu      sync.Mutex
	active  map[int64]*activeRun // runs building in this process, by store id
	stopped bool

	// triggerMu makes resolve-then-enqueue one step: resolution reads
	// GitHub as it is now, so the later of two concurrent events always
	// enqueues the newer heads.
	triggerMu sync.Mutex
	// commentMu serialises summary comment updates, so two reports on one
	// PR never both create a comment.
	commentMu sync.Mutex
	refuseMu  sync.Mutex
	checkMu   sync.Mutex

	claimCtx  context.Context // cancelled to stop claiming work
	stopClaim context.CancelFunc
	jobCtx    context.Context // cancelled when the grace period is over
	stopJobs  context.CancelCauseFunc
	loops     sync.WaitGroup
}

// activeRun is a run building in this process.
type activeRun struct {
	key    string
	runID  string
	cancel context.CancelCauseFunc
}

// New checks opts and returns a Bot that is not started yet.
func New(opts Options) (*Bot, error) {
	var missing []string
	if opts.GitHub == nil {
		missing = append(missing, "GitHub")
	}
	if opts.Store == nil {
		missing = append(missing, "Store")
	}
	if opts.Builder == nil {
		missing = append(missing, "Builder")
	}
	if opts.Config == nil {
		missing = append(missing, "Config")
	}
	if opts.Resolve == nil {
		missing = append(missing, "Resolve")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("bot: options missing %s", strings.Join(missing, ", "))
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.CoalesceWindow < 0 {
		return nil, fmt.Errorf("bot: coalesce window %s is negative", opts.CoalesceWindow)
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	if opts.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.WarnLevel)
		opts.Log = l
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	b := &Bot{
		opt:    opts,
		gh:     opts.GitHub,
		st:     opts.Store,
		log:    opts.Log,
		wake:   make(chan struct{}, 64),
		active: map[int64]*activeRun{},
	}
	return b, nil
}

// Notify wakes idle workers: a delivery was stored.
func (b *Bot) Notify() {
	for i := 0; i < cap(b.wake); i++ {
		select {
		case b.wake <- struct{}{}:
		default:
			return
		}
	}
}

// Causes a run's context is cancelled with.
var (
	errShutdown   = errors.New("the service is shutting down; the run is queued again")
	errSuperseded = errors.New("superseded by a newer run of the same changeset")
)

// cancelledBy is a run cancelled on request.
type cancelledBy struct{ who, why string }

func (c *cancelledBy) Error() string { return "cancelled by " + c.who + ": " + c.why }

func (b *Bot) runURL(id int64) string {
	if b.opt.RunURL != nil {
		return b.opt.RunURL(id)
	}
	if b.opt.PublicURL == "" || id == 0 {
		return ""
	}
	return fmt.Sprintf("%s/runs/%d", b.opt.PublicURL, id)
}
