package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to read the replicas' database

	"github.com/provide-io/workspace-bot/internal/pgtest"
)

// Two replicas of serve share one PostgreSQL database behind one webhook
// URL, deliveries reaching them in turn. The replica building a run is
// killed with SIGKILL mid-build: once its lease runs out, the other
// builds the run again from the start and reports it. Every PR ends with
// exactly one final status and one summary comment, and every run but the
// interrupted one was built once.
func TestReplicasOnPostgresSurviveAKill(t *testing.T) {
	t.Parallel()
	bin := buildBot(t)
	dsn := pgtest.DSN(t)
	w := newWorld(t, worldOptions{noServe: true})
	prs := []struct {
		repo string
		n    int
	}{
		{"acme/core", w.openPR("acme/core", "slow", "", map[string]string{"check.sh": "sleep 3\necho core slow but fine\n"})},
		{"acme/lib", w.openPR("acme/lib", "quick-lib", "", map[string]string{"README": "lib b\n"})},
		{"acme/app", w.openPR("acme/app", "quick-app", "", map[string]string{"README": "app c\n"})},
	}
	reps := startReplicas(t, w, bin, dsn, "5s")
	for i, pr := range prs {
		w.url = reps[i%len(reps)].url
		w.send("pull_request", w.prPayload("opened", pr.repo, pr.n))
	}
	slow := w.head("acme/core", prs[0].n)
	w.waitFor("the slow run to start", func() bool {
		return strings.HasPrefix(w.status("acme/core", slow).Description, "running")
	})

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	victim, survivor := builder(t, db, reps, "acme/core#%")
	if err := victim.kill(); err != nil {
		t.Fatal(err)
	}
	if st := w.status("acme/core", slow); st.State != "pending" {
		t.Fatalf("the slow run reported %+v before the kill; the test did not interrupt it", st)
	}

	w.url = survivor.url
	for _, pr := range prs {
		w.waitState(pr.repo, w.head(pr.repo, pr.n), "success")
	}
	w.idle()
	for _, pr := range prs {
		head := w.head(pr.repo, pr.n)
		if final := w.finalStatuses(pr.repo, head); final != 1 {
			t.Errorf("%s#%d has %d final statuses, want 1: %+v", pr.repo, pr.n, final, w.gh.Statuses(pr.repo, head))
		}
		if n := len(w.summaries(pr.repo, pr.n)); n != 1 {
			t.Errorf("%s#%d has %d summary comments, want 1", pr.repo, pr.n, n)
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT key, state, attempts FROM runs ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var runs []string
	for rows.Next() {
		var key, state string
		var attempts int
		if err := rows.Scan(&key, &state, &attempts); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, fmt.Sprintf("%s %s %d", key, state, attempts))
		want := 1
		if strings.HasPrefix(key, "acme/core#") {
			want = 2 // killed once, then built from the start
		}
		if state != "success" || attempts != want {
			t.Errorf("run of %s: %s after %d attempts, want success after %d", key, state, attempts, want)
		}
	}
	if len(runs) != len(prs) {
		t.Errorf("runs %q, want one per PR", runs)
	}
	if !strings.Contains(survivor.logs.String(), "workspace-bot serving") {
		t.Errorf("the survivor's log:\n%s", survivor.logs.String())
	}
}

// replica is one serve process of several on one database.
type replica struct {
	url  string
	logs *syncBuffer
	pid  int
	kill func() error
}

// startReplicas starts two serve processes on the database at dsn, each
// with a data dir of its own and the given --replica-lease: short enough
// for a test to wait out, long enough that a live replica on a loaded
// machine renews it in time.
func startReplicas(t *testing.T, w *world, bin, dsn, lease string) []*replica {
	t.Helper()
	// The URL carries the database's credentials: it goes by the
	// environment, not the command line every user can read.
	w.serveEnv = []string{"WORKSPACE_BOT_DATABASE=" + dsn}
	var reps []*replica
	for range 2 {
		r := &replica{logs: &syncBuffer{}}
		cmd := w.startServe(bin, freeAddr(t), t.TempDir(), r.logs, "--replica-lease", lease)
		r.url, r.pid, r.kill = w.url, cmd.Process.Pid, func() error {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				return err
			}
			cmd.Wait()
			return nil
		}
		reps = append(reps, r)
	}
	return reps
}

// builder is the replica building the running run whose key is like
// keyLike, and the other one.
func builder(t *testing.T, db *sql.DB, reps []*replica, keyLike string) (building, other *replica) {
	t.Helper()
	var owner string
	if err := db.QueryRowContext(context.Background(), `SELECT owner FROM runs WHERE state = 'running' AND key LIKE $1`, keyLike).Scan(&owner); err != nil {
		t.Fatalf("the owner of the run of %s: %v", keyLike, err)
	}
	// An owner is host/pid/random.
	parts := strings.Split(owner, "/")
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	for _, r := range reps {
		if r.pid == pid {
			building = r
		} else {
			other = r
		}
	}
	if building == nil {
		t.Fatalf("the owner %q of the run of %s is neither replica", owner, keyLike)
	}
	return building, other
}

// A push handled by one replica supersedes the run another is building:
// the old run stops there, and the new heads are built once and reported
// once.
func TestReplicasSupersedeAcrossReplicas(t *testing.T) {
	t.Parallel()
	bin := buildBot(t)
	dsn := pgtest.DSN(t)
	w := newWorld(t, worldOptions{noServe: true})
	n := w.openPR("acme/core", "slow", "", map[string]string{"check.sh": "sleep 30\necho core slow\n"})
	old := w.head("acme/core", n)
	reps := startReplicas(t, w, bin, dsn, "30s")
	w.url = reps[0].url
	w.send("pull_request", w.prPayload("opened", "acme/core", n))
	w.waitFor("the slow run to start", func() bool {
		return strings.HasPrefix(w.status("acme/core", old).Description, "running")
	})
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	building, other := builder(t, db, reps, "acme/core#%")

	// The push reaches the replica that is not building.
	w.push("acme/core", "slow", map[string]string{"check.sh": "echo core fixed\n"})
	w.url = other.url
	w.send("pull_request", w.prPayload("synchronize", "acme/core", n))
	head := w.head("acme/core", n)
	w.waitState("acme/core", head, "success")
	w.waitFor("the building replica to stop the superseded run", func() bool {
		return strings.Contains(building.logs.String(), "cancelled or superseded through another replica")
	})
	w.idle()
	if final := w.finalStatuses("acme/core", head); final != 1 {
		t.Errorf("the new head has %d final statuses, want 1: %+v", final, w.gh.Statuses("acme/core", head))
	}
	if got := len(w.summaries("acme/core", n)); got != 1 {
		t.Errorf("%d summary comments, want 1", got)
	}
	var states []string
	rows, err := db.Query(`SELECT state FROM runs ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		rows.Scan(&st)
		states = append(states, st)
	}
	if strings.Join(states, " ") != "superseded success" {
		t.Errorf("runs ended %v, want the old one superseded and the new one a success", states)
	}
}

// finalStatuses counts the statuses of our context on repo@sha that are
// not pending.
func (w *world) finalStatuses(repo, sha string) int {
	n := 0
	for _, s := range w.gh.Statuses(repo, sha) {
		if s.Context == ctxName && s.State != "pending" {
			n++
		}
	}
	return n
}
