package httpapi

import (
	"encoding/hex"
	"net/http"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
)

func auditFilter(r *http.Request) (keyward.AuditFilter, error) {
	q := r.URL.Query()
	f := keyward.AuditFilter{Actor: q.Get("actor"), Action: keyward.Action(q.Get("action")), Target: q.Get("target"), Outcome: q.Get("outcome")}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(t.name); v != "" {
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, keyward.Invalid(t.name, "must be an RFC 3339 time such as 2026-11-23T10:00:00Z")
			}
			*t.dst = tm
		}
	}
	switch f.Outcome {
	case "", keyward.OutcomeSuccess, keyward.OutcomeDenied, keyward.OutcomeFailure:
	default:
		return f, keyward.Invalid("outcome", "must be success, denied or failure")
	}
	var err error
	if f.AfterSeq, err = queryInt(r, "after_seq", 1<<62); err != nil {
		return f, err
	}
	n, err := queryInt(r, "limit", keyward.MaxPageLimit)
	f.Limit = int(n)
	return f, err
}

func toAuditRecord(r *keyward.AuditRecord) api.AuditRecord {
	return api.AuditRecord{Seq: r.Seq, Time: r.Time, Actor: r.Actor, ActorName: r.ActorName, Action: string(r.Action),
		Target: r.Target, Outcome: r.Outcome, RequestID: r.RequestID, Detail: r.Detail,
		PrevHash: hex.EncodeToString(r.PrevHash), Hash: hex.EncodeToString(r.Hash)}
}

func (s *Server) auditHandlers(m map[string]handler) {
	m["listAudit"] = func(r *http.Request, p keyward.Principal) (any, error) {
		f, err := auditFilter(r)
		if err != nil {
			return nil, err
		}
		recs, err := s.svc.ListAudit(r.Context(), p, f)
		if err != nil {
			return nil, err
		}
		out := api.AuditList{Items: []api.AuditRecord{}}
		for i := range recs {
			out.Items = append(out.Items, toAuditRecord(&recs[i]))
		}
		if limit := f.Limit; len(recs) > 0 && (limit == 0 && len(recs) == keyward.DefaultPageLimit || len(recs) == limit) {
			out.Next = recs[len(recs)-1].Seq
		}
		return out, nil
	}
	m["verifyAudit"] = func(r *http.Request, p keyward.Principal) (any, error) {
		rep, err := s.svc.VerifyAudit(r.Context(), p)
		if err != nil {
			return nil, err
		}
		return api.AuditVerification{OK: rep.OK, Checked: rep.Checked, FirstBad: rep.FirstBad, Reason: rep.Reason}, nil
	}
}

// exportAudit streams the export. Errors found before the first byte become a normal error
// response; the header is written only once the filter is known to be good.
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request, p keyward.Principal) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	switch format {
	case "", "jsonl":
		w.Header().Set("Content-Type", "application/x-ndjson")
		format = "jsonl"
	case "csv":
		w.Header().Set("Content-Type", "text/csv")
	default:
		return keyward.Invalid("format", "must be jsonl or csv")
	}
	w.Header().Set("Content-Disposition", `attachment; filename="keyward-audit.`+format+`"`)
	return s.svc.ExportAudit(r.Context(), p, f, format, w)
}
