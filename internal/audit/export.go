package audit

import (
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// Entry is the exported form of a record, the same in JSON lines, CSV and the API.
type Entry struct {
	Seq       int64  `json:"seq"`
	Time      string `json:"time"`
	AccountID string `json:"account_id"`
	Actor     string `json:"actor"`
	ActorName string `json:"actor_name,omitempty"`
	Action    string `json:"action"`
	Target    string `json:"target,omitempty"`
	Outcome   string `json:"outcome"`
	RequestID string `json:"request_id,omitempty"`
	Detail    string `json:"detail,omitempty"`
	PrevHash  string `json:"prev_hash"`
	Hash      string `json:"hash"`
}

// ToEntry converts a record for export.
func ToEntry(r *keyward.AuditRecord) Entry {
	return Entry{
		Seq: r.Seq, Time: r.Time.UTC().Format(time.RFC3339Nano), AccountID: r.AccountID,
		Actor: r.Actor, ActorName: r.ActorName, Action: string(r.Action), Target: r.Target,
		Outcome: r.Outcome, RequestID: r.RequestID, Detail: r.Detail,
		PrevHash: hex.EncodeToString(r.PrevHash), Hash: hex.EncodeToString(r.Hash),
	}
}

// CSVHeader is the first row of a CSV export.
var CSVHeader = []string{"seq", "time", "account_id", "actor", "actor_name", "action", "target",
	"outcome", "request_id", "detail", "prev_hash", "hash"}

// Writer streams records as JSON lines or CSV.
type Writer struct {
	json *json.Encoder
	csv  *csv.Writer
}

// NewWriter returns a writer for format "jsonl" or "csv".
func NewWriter(w io.Writer, format string) (*Writer, error) {
	switch format {
	case "jsonl", "":
		return &Writer{json: json.NewEncoder(w)}, nil
	case "csv":
		cw := csv.NewWriter(w)
		return &Writer{csv: cw}, cw.Write(CSVHeader)
	}
	return nil, keyward.Invalid("format", "must be jsonl or csv")
}

// Write writes one record.
func (w *Writer) Write(r *keyward.AuditRecord) error {
	e := ToEntry(r)
	if w.json != nil {
		return w.json.Encode(e)
	}
	return w.csv.Write([]string{strconv.FormatInt(e.Seq, 10), e.Time, e.AccountID, e.Actor,
		e.ActorName, e.Action, e.Target, e.Outcome, e.RequestID, e.Detail, e.PrevHash, e.Hash})
}

// Flush flushes buffered CSV output.
func (w *Writer) Flush() error {
	if w.csv != nil {
		w.csv.Flush()
		return w.csv.Error()
	}
	return nil
}
