package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Delivery states.
const (
	DeliveryPending    = "pending"
	DeliveryProcessing = "processing"
	DeliveryDone       = "done"
	DeliveryFailed     = "failed"
)

// Delivery is one webhook delivery as GitHub sent it.
type Delivery struct {
	ID         string // X-GitHub-Delivery
	Event      string // X-GitHub-Event
	Action     string
	Payload    []byte
	ReceivedAt time.Time
	State      string
	Attempts   int
	Error      string
}

const sqlInsertDelivery = `INSERT INTO deliveries (id, event, action, payload, received_at, state)
VALUES (?, ?, ?, ?, ?, 'pending') ON CONFLICT (id) DO NOTHING`

// maxBatch bounds one group commit so a flood cannot hold the write lock
// for long.
const maxBatch = 256

type addReq struct {
	d    Delivery
	done chan addRes
}

type addRes struct {
	inserted bool
	err      error
}

// AddDelivery stores d as pending unless a delivery with its ID is already
// stored, in which case it returns false and nil. It returns only after the
// row is committed.
//
// Concurrent calls are committed together (group commit): one goroutine
// takes every waiting insert, writes them in one transaction and answers
// each after the commit, so a burst costs one fsync instead of one each.
func (s *Store) AddDelivery(ctx context.Context, d Delivery) (bool, error) {
	if d.ID == "" || d.Event == "" {
		return false, fmt.Errorf("store: add delivery: empty id or event")
	}
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = s.now()
	}
	req := &addReq{d: d, done: make(chan addRes, 1)}
	select {
	case s.adds <- req:
	case <-s.quit:
		return false, fmt.Errorf("store: add delivery %s: %w", d.ID, ErrClosed)
	case <-ctx.Done():
		return false, fmt.Errorf("store: add delivery %s: %w", d.ID, ctx.Err())
	}
	// Once handed over the insert is committed or failed regardless; wait
	// for the answer so a 202 is never sent for a row that did not land.
	res := <-req.done
	if res.err != nil {
		return false, s.wrap("add delivery "+d.ID, res.err)
	}
	return res.inserted, nil
}

func (s *Store) commitLoop() {
	defer s.wg.Done()
	batch := make([]*addReq, 0, maxBatch)
	for {
		select {
		case <-s.quit:
			return
		case done := <-s.restart:
			s.restartWAL()
			close(done)
			continue
		case req := <-s.adds:
			batch = append(batch[:0], req)
		}
	collect:
		for len(batch) < maxBatch {
			select {
			case req := <-s.adds:
				batch = append(batch, req)
			default:
				break collect
			}
		}
		s.commitBatch(batch)
	}
}

func (s *Store) commitBatch(batch []*addReq) {
	results, err := s.insertBatch(batch)
	full := diskFull(err)
	for _, r := range results {
		full = full || diskFull(r.err)
	}
	if full && s.ballast.give() {
		// The disk filled faster than the build that filled it could
		// be stopped: the ballast's room takes these deliveries. When
		// the batch committed, only the inserts that failed are tried
		// again: the others are stored, and must be answered so.
		results, err = s.retryFull(batch, results, err)
	} else if err == nil {
		s.ballast.take(s.logs.free, s.logReserve(), s.now())
	}
	for i, req := range batch {
		if err != nil {
			results[i] = addRes{err: err}
		}
		req.done <- results[i]
	}
}

func (s *Store) logReserve() int64 {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	return s.logs.reserve
}

// retryFull inserts again what a first try lost to a full disk: the
// whole batch when its transaction failed, else the requests that did.
func (s *Store) retryFull(batch []*addReq, results []addRes, err error) ([]addRes, error) {
	if err != nil {
		return s.insertBatch(batch)
	}
	var again []*addReq
	var at []int
	for i, r := range results {
		if diskFull(r.err) {
			again, at = append(again, batch[i]), append(at, i)
		}
	}
	retried, err := s.insertBatch(again)
	for j, i := range at {
		results[i] = retried[j]
		if err != nil {
			results[i] = addRes{err: err}
		}
	}
	return results, nil
}

// insertBatch inserts a batch of deliveries in one transaction.
func (s *Store) insertBatch(batch []*addReq) ([]addRes, error) {
	// The requests' contexts are not used: a half-committed batch would
	// answer some callers wrongly.
	ctx := context.Background()
	if s.pg {
		return s.insertBatchRows(ctx, batch)
	}
	results := make([]addRes, len(batch))
	err := func() error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		stmt := tx.StmtContext(ctx, s.insDelivery)
		for i, req := range batch {
			d := req.d
			res, err := stmt.ExecContext(ctx, d.ID, d.Event, d.Action, d.Payload, toNanos(d.ReceivedAt))
			if err != nil {
				// A failed statement rolls back only itself; the
				// others in the batch still commit.
				results[i].err = err
				continue
			}
			n, err := res.RowsAffected()
			results[i] = addRes{inserted: n == 1, err: err}
		}
		return tx.Commit()
	}()
	return results, err
}

const deliveryColumns = `id, event, action, payload, received_at, state, attempts, error`

func scanDelivery(row interface{ Scan(...any) error }) (*Delivery, error) {
	var d Delivery
	var recv int64
	if err := row.Scan(&d.ID, &d.Event, &d.Action, &d.Payload, &recv, &d.State, &d.Attempts, &d.Error); err != nil {
		return nil, err
	}
	d.ReceivedAt = fromNanos(recv)
	return &d, nil
}

// ClaimDelivery marks the oldest pending delivery processing and returns
// it, or nil and nil when none is waiting.
func (s *Store) ClaimDelivery(ctx context.Context) (*Delivery, error) {
	// On PostgreSQL, replicas claiming at once skip each other's rows.
	row := s.w.QueryRowContext(ctx, `UPDATE deliveries
SET state = 'processing', attempts = attempts + 1, owner = ?, lease_until = ?
WHERE seq = (SELECT seq FROM deliveries WHERE state = 'pending' AND not_before <= ? ORDER BY seq LIMIT 1 /*skip locked*/)
RETURNING `+deliveryColumns, s.owner, s.leaseUntil(), toNanos(s.now()))
	d, err := scanDelivery(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap("claim delivery", err)
	}
	return d, nil
}

// FinishDelivery records the outcome of handling a claimed delivery: done
// when handleErr is nil; otherwise pending again after a delay, or failed
// once it has been tried DefaultMaxDeliveryAttempts times.
func (s *Store) FinishDelivery(ctx context.Context, id string, handleErr error) error {
	var res sql.Result
	var err error
	if handleErr == nil {
		res, err = s.w.ExecContext(ctx, `UPDATE deliveries SET state = 'done', error = '', owner = '', lease_until = 0 WHERE id = ?`, id)
	} else {
		var attempts int
		if err = s.w.QueryRowContext(ctx, `SELECT attempts FROM deliveries WHERE id = ?`, id).Scan(&attempts); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: finish delivery %s: %w", id, ErrNotFound)
		} else if err != nil {
			return s.wrap("finish delivery "+id, err)
		}
		state, notBefore := DeliveryFailed, int64(0)
		if attempts < s.maxDeliveryAttempts {
			state, notBefore = DeliveryPending, toNanos(s.now().Add(s.retryDelay(attempts)))
		}
		res, err = s.w.ExecContext(ctx, `UPDATE deliveries SET state = ?, error = ?, not_before = ?, owner = '', lease_until = 0 WHERE id = ?`,
			state, handleErr.Error(), notBefore, id)
	}
	if err != nil {
		return s.wrap("finish delivery "+id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: finish delivery %s: %w", id, ErrNotFound)
	}
	return nil
}

// GetDelivery returns one delivery by its id.
func (s *Store) GetDelivery(ctx context.Context, id string) (*Delivery, error) {
	d, err := scanDelivery(s.r.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: delivery %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, s.wrap("get delivery "+id, err)
	}
	return d, nil
}

// CountDeliveries counts deliveries in state; "" counts them all.
func (s *Store) CountDeliveries(ctx context.Context, state string) (int, error) {
	return s.count(ctx, "deliveries", state)
}

// PruneDeliveries deletes finished (done or failed) deliveries received
// before t, returning how many went.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM deliveries WHERE state IN ('done', 'failed') AND received_at < ?`, toNanos(before))
	if err != nil {
		return 0, s.wrap("prune deliveries", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// insertBatchRows inserts a batch in one statement, for PostgreSQL, where
// each statement is a round trip to the server: a batch of 256 costs one.
// A delivery is inserted when its id comes back, and only its first
// request in the batch says so.
func (s *Store) insertBatchRows(ctx context.Context, batch []*addReq) ([]addRes, error) {
	var q strings.Builder
	q.WriteString(`INSERT INTO deliveries (id, event, action, payload, received_at, state) VALUES `)
	args := make([]any, 0, 5*len(batch))
	for i, req := range batch {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, 'pending')")
		d := req.d
		args = append(args, d.ID, d.Event, d.Action, d.Payload, toNanos(d.ReceivedAt))
	}
	q.WriteString(` ON CONFLICT (id) DO NOTHING RETURNING id`)
	rows, err := s.w.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	inserted := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		inserted[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	results := make([]addRes, len(batch))
	for i, req := range batch {
		results[i].inserted = inserted[req.d.ID]
		delete(inserted, req.d.ID)
	}
	return results, nil
}
