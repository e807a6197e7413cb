// Package audit keeps the tamper-evident audit trail: each account's records form a hash
// chain that Verify walks to find the first record that was edited, removed or reordered.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// domain separates Keyward audit hashes from any other use of SHA-256.
const domain = "keyward-audit-v1"

// Hash computes a record's hash over a canonical, length-prefixed encoding of every field
// and the previous record's hash. Length prefixes make the encoding unambiguous: no two
// different records encode to the same bytes.
func Hash(r *keyward.AuditRecord) []byte {
	// One buffer, on the stack for records of usual size: Hash runs once per record on the
	// way into the database and once per record when the chain is verified.
	buf := make([]byte, 0, 512)
	buf = append(buf, domain...)
	var num [20]byte
	buf = appendField(buf, r.AccountID)
	buf = appendField(buf, strconv.AppendInt(num[:0], r.Seq, 10))
	buf = appendField(buf, strconv.AppendInt(num[:0], r.Time.UnixMicro(), 10))
	for _, f := range [...]string{r.Actor, r.ActorName, string(r.Action), r.Target, r.Outcome, r.RequestID, r.Detail} {
		buf = appendField(buf, f)
	}
	buf = appendField(buf, r.PrevHash)
	sum := sha256.Sum256(buf)
	return sum[:]
}

// appendField appends f with its length before it.
func appendField[F string | []byte](buf []byte, f F) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(f)))
	return append(buf, f...)
}

// Append chains recs onto their accounts' chains and stores them in tx, so the records
// commit with the change they describe. It sets Seq, PrevHash and Hash on recs.
func Append(tx keyward.Tx, recs ...keyward.AuditRecord) error {
	type head struct {
		seq  int64
		hash []byte
	}
	heads := map[string]*head{}
	for i := range recs {
		r := &recs[i]
		h := heads[r.AccountID]
		if h == nil {
			seq, hash, err := tx.AuditHead(r.AccountID)
			if err != nil {
				return fmt.Errorf("audit head: %w", err)
			}
			h = &head{seq, hash}
			heads[r.AccountID] = h
		}
		r.Time = r.Time.UTC().Truncate(time.Microsecond) // the stores keep microseconds
		r.Seq = h.seq + 1
		r.PrevHash = h.hash
		r.Hash = Hash(r)
		h.seq, h.hash = r.Seq, r.Hash
	}
	if err := tx.AppendAudit(recs); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// Report is the result of verifying one chain.
type Report struct {
	AccountID string `json:"account_id"`
	Checked   int64  `json:"checked"`
	OK        bool   `json:"ok"`
	// FirstBad is the sequence number of the first record that fails, and Reason says how.
	FirstBad int64  `json:"first_bad,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Verify walks an account's chain from the first record and reports the first break: a gap
// or repeat in the sequence, a record whose hash does not match its contents, a record that
// does not point at its predecessor, or a chain that ends before its recorded head.
func Verify(tx keyward.Tx, accountID string) (Report, error) {
	rep := Report{AccountID: accountID, OK: true}
	var prev []byte
	var want int64 = 1
	fail := func(seq int64, format string, args ...any) error {
		rep.OK, rep.FirstBad, rep.Reason = false, seq, fmt.Sprintf(format, args...)
		return errStop
	}
	err := tx.ScanAudit(accountID, func(r *keyward.AuditRecord) error {
		switch {
		case r.Seq != want:
			return fail(want, "record %d is missing (found %d next)", want, r.Seq)
		case !bytes.Equal(r.PrevHash, prev):
			return fail(r.Seq, "record %d does not link to record %d", r.Seq, r.Seq-1)
		case !bytes.Equal(Hash(r), r.Hash):
			return fail(r.Seq, "record %d was altered: its contents do not match its hash", r.Seq)
		}
		rep.Checked++
		prev, want = r.Hash, want+1
		return nil
	})
	if err != nil && err != errStop {
		return rep, err
	}
	if !rep.OK {
		return rep, nil
	}
	seq, hash, err := tx.AuditHead(accountID)
	if err != nil {
		return rep, err
	}
	if seq != rep.Checked || !bytes.Equal(hash, prev) {
		rep.OK, rep.FirstBad = false, rep.Checked+1
		rep.Reason = fmt.Sprintf("the chain ends at record %d but its head says %d: records were removed from the end", rep.Checked, seq)
	}
	return rep, nil
}

type stopError struct{}

func (stopError) Error() string { return "stop" }

var errStop error = stopError{}
