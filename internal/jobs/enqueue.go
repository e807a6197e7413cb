package jobs

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/keyward/keyward/internal/keyward"
)

// Spec describes a job to enqueue.
type Spec struct {
	AccountID string
	GroupID   string // "" for a job of the whole account
	Kind      string // a registered kind
	Title     string // what it does, for people; default: the kind
	// Params is encoded as JSON (a json.RawMessage is taken as is); nil means {}. It is
	// stored in clear and shown to the job's readers: ids and names, never secrets.
	Params      any
	MaxAttempts int       // zero: the kind's default
	RunAt       time.Time // not before; zero: now
	CreatedBy   string    // the actor who asked for it
}

// Enqueue adds a job in tx, so that it commits (or not) with the change that asked for it
// and that change's audit record. Call Poke once tx has committed to start it at once.
// EINVALID when the kind has no handler here or the spec is malformed.
func (r *Runner) Enqueue(tx keyward.Tx, s Spec) (*keyward.Job, error) {
	if _, ok := r.kind(s.Kind); !ok {
		return nil, keyward.Invalid("kind", "no handler is registered for job kind %q", s.Kind)
	}
	s.MaxAttempts = r.attempts(s.Kind, s.MaxAttempts)
	j, err := r.newJob(s)
	if err != nil {
		return nil, err
	}
	if err := tx.CreateJob(j); err != nil {
		return nil, err
	}
	if j.NextRunAt.After(j.CreatedAt) {
		r.wakeUpAt(j.NextRunAt)
	}
	return j, nil
}

// attempts returns n, or when it is zero the default of the kind if it is registered here.
func (r *Runner) attempts(kind string, n int) int {
	if k, ok := r.kind(kind); ok && n == 0 {
		return k.MaxAttempts
	}
	return n
}

// newJob validates s and builds the queued job; zero MaxAttempts means the default.
func (r *Runner) newJob(s Spec) (*keyward.Job, error) {
	params, err := encodeParams(s.Params)
	if err != nil {
		return nil, err
	}
	switch {
	case s.AccountID == "":
		return nil, keyward.Errorf(keyward.EINTERNAL, "jobs: a job needs an account")
	case s.MaxAttempts < 0 || s.MaxAttempts > keyward.MaxJobAttempts:
		return nil, keyward.Invalid("max_attempts", "must be 1 to %d", keyward.MaxJobAttempts)
	case utf8.RuneCountInString(s.Title) > 200:
		return nil, keyward.Invalid("title", "must be at most 200 characters")
	}
	if err := keyward.ValidateJobKind("kind", s.Kind); err != nil {
		return nil, err
	}
	if s.MaxAttempts == 0 {
		s.MaxAttempts = keyward.DefaultJobAttempts
	}
	now := r.o.Clock.Now()
	runAt := s.RunAt
	if runAt.IsZero() || runAt.Before(now) {
		runAt = now
	}
	return &keyward.Job{ID: newID(now), AccountID: s.AccountID, GroupID: s.GroupID, Kind: s.Kind, Title: s.Title,
		Params: params, State: keyward.JobQueued, MaxAttempts: s.MaxAttempts, NextRunAt: runAt,
		CreatedBy: s.CreatedBy, CreatedAt: now, UpdatedAt: now}, nil
}

func encodeParams(v any) (json.RawMessage, error) {
	if v == nil {
		return json.RawMessage(`{}`), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, keyward.Invalid("params", "cannot be encoded as JSON: %v", err)
	}
	return b, keyward.ValidateJobData("params", b)
}

// ScheduleSpec describes a schedule: what each run enqueues, and when it runs.
type ScheduleSpec struct {
	Job  Spec // Job.RunAt is the schedule's start time (zero: now)
	Rule keyward.ScheduleRule
	// Disabled creates the schedule switched off.
	Disabled bool
}

// CreateSchedule adds a schedule in tx; its first run is the first time its rule gives at
// or after its start. EINVALID as for Enqueue, or for a bad rule.
func (r *Runner) CreateSchedule(tx keyward.Tx, s ScheduleSpec) (*keyward.Schedule, error) {
	if _, ok := r.kind(s.Job.Kind); !ok {
		return nil, keyward.Invalid("kind", "no handler is registered for job kind %q", s.Job.Kind)
	}
	if err := s.Rule.Validate("rule"); err != nil {
		return nil, err
	}
	j, err := r.newJob(s.Job) // validates what each run will enqueue
	if err != nil {
		return nil, err
	}
	now := j.CreatedAt
	start := s.Job.RunAt
	if start.IsZero() {
		start = now
	}
	sc := &keyward.Schedule{ID: newID(now), AccountID: j.AccountID, GroupID: j.GroupID, Kind: j.Kind, Title: j.Title,
		Params: j.Params, MaxAttempts: s.Job.MaxAttempts, Rule: s.Rule, StartAt: start,
		NextRunAt: s.Rule.Next(start, now.Add(-time.Microsecond)), Enabled: !s.Disabled,
		CreatedBy: j.CreatedBy, CreatedAt: now, UpdatedAt: now}
	if err := tx.CreateSchedule(sc); err != nil {
		return nil, err
	}
	r.wakeUpAt(sc.NextRunAt)
	return sc, nil
}

// Ids are UUIDv7 (RFC 9562): they sort by creation time, so listings ordered by id are
// ordered by age. Within a millisecond a counter keeps them increasing.
var ids struct {
	sync.Mutex
	ms  int64
	seq uint16
}

func newID(now time.Time) string {
	ids.Lock()
	ms := now.UnixMilli()
	if ms <= ids.ms {
		ms = ids.ms
		ids.seq++
		if ids.seq >= 1<<12 {
			ms, ids.seq = ms+1, 0
		}
	} else {
		ids.seq = 0
	}
	ids.ms = ms
	seq := ids.seq
	ids.Unlock()

	var b [16]byte
	rand.Read(b[8:])
	binary.BigEndian.PutUint64(b[:8], uint64(ms)<<16|0x7000|uint64(seq))
	b[8] = 0x80 | b[8]&0x3f
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
