package service

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// ListServiceLog returns entries of a group's service log that match f (its account and
// group are the caller's and groupID).
func (s *Service) ListServiceLog(ctx context.Context, p keyward.Principal, groupID string, f keyward.ServiceLogFilter) ([]keyward.ServiceLogEntry, error) {
	f.AccountID, f.GroupID = p.AccountID, groupID
	var out []keyward.ServiceLogEntry
	err := s.read(ctx, p, keyward.ActServiceLogRead, "group:"+groupID, func(tx keyward.Tx) error {
		g, err := loadGroup(tx, p, groupID, keyward.ActServiceLogRead)
		if err != nil {
			return err
		}
		f.GroupID = g.Group.ID // the caller may name the group
		out, err = tx.ListServiceLog(f)
		return err
	})
	return out, err
}

// ExportServiceLog streams every entry of a group's service log that matches f to w,
// oldest first, as JSON lines ("jsonl") or CSV ("csv").
func (s *Service) ExportServiceLog(ctx context.Context, p keyward.Principal, groupID string, f keyward.ServiceLogFilter, format string, w io.Writer) error {
	lw, err := newLogWriter(w, format)
	if err != nil {
		return err
	}
	f.AccountID, f.GroupID, f.Oldest, f.Limit = p.AccountID, groupID, true, keyward.MaxPageLimit
	return s.read(ctx, p, keyward.ActServiceLogRead, "group:"+groupID, func(tx keyward.Tx) error {
		g, err := loadGroup(tx, p, groupID, keyward.ActServiceLogRead)
		if err != nil {
			return err
		}
		f.GroupID = g.Group.ID // the caller may name the group
		for {
			es, err := tx.ListServiceLog(f)
			if err != nil {
				return err
			}
			for i := range es {
				if err := lw.write(&es[i]); err != nil {
					return err
				}
			}
			if len(es) < f.Limit {
				return lw.flush()
			}
			f.Cursor = es[len(es)-1].Seq
		}
	})
}

// LogEntry is the exported form of a service log entry, the same in JSON lines and CSV.
type LogEntry struct {
	Seq     int64  `json:"seq"`
	Time    string `json:"time"`
	Level   string `json:"level"`
	Message string `json:"message"`
	JobID   string `json:"job_id,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// LogCSVHeader is the first row of a CSV export.
var LogCSVHeader = []string{"seq", "time", "level", "message", "job_id", "detail"}

type logWriter struct {
	json *json.Encoder
	csv  *csv.Writer
}

func newLogWriter(w io.Writer, format string) (*logWriter, error) {
	switch format {
	case "jsonl", "":
		return &logWriter{json: json.NewEncoder(w)}, nil
	case "csv":
		cw := csv.NewWriter(w)
		return &logWriter{csv: cw}, cw.Write(LogCSVHeader)
	}
	return nil, keyward.Invalid("format", "must be jsonl or csv")
}

func (w *logWriter) write(e *keyward.ServiceLogEntry) error {
	x := LogEntry{Seq: e.Seq, Time: e.Time.UTC().Format(time.RFC3339Nano), Level: string(e.Level), Message: e.Message, JobID: e.JobID, Detail: e.Detail}
	if w.json != nil {
		return w.json.Encode(x)
	}
	return w.csv.Write([]string{strconv.FormatInt(x.Seq, 10), x.Time, x.Level, x.Message, x.JobID, x.Detail})
}

func (w *logWriter) flush() error {
	if w.csv != nil {
		w.csv.Flush()
		return w.csv.Error()
	}
	return nil
}
