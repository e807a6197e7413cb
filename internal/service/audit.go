package service

import (
	"context"
	"io"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/keyward"
)

// ListAudit returns the caller's account's records that match f.
func (s *Service) ListAudit(ctx context.Context, p keyward.Principal, f keyward.AuditFilter) ([]keyward.AuditRecord, error) {
	f.AccountID = p.AccountID
	if err := s.audits.Flush(ctx); err != nil {
		return nil, err
	}
	var out []keyward.AuditRecord
	err := s.read(ctx, p, keyward.ActAuditRead, "", func(tx keyward.Tx) error {
		if err := keyward.Authorize(p, keyward.ActAuditRead, nil); err != nil {
			return err
		}
		var err error
		out, err = tx.ListAudit(f)
		return err
	})
	return out, err
}

// ExportAudit streams every record of the caller's account that matches f to w, as JSON
// lines or CSV. The export itself is audited.
func (s *Service) ExportAudit(ctx context.Context, p keyward.Principal, f keyward.AuditFilter, format string, w io.Writer) error {
	aw, err := audit.NewWriter(w, format)
	if err != nil {
		return err
	}
	f.AccountID = p.AccountID
	if err := s.audits.Flush(ctx); err != nil {
		return err
	}
	err = s.read(ctx, p, keyward.ActAuditRead, "", func(tx keyward.Tx) error {
		if err := keyward.Authorize(p, keyward.ActAuditRead, nil); err != nil {
			return err
		}
		f.Limit = keyward.MaxPageLimit
		for {
			recs, err := tx.ListAudit(f)
			if err != nil {
				return err
			}
			for i := range recs {
				if err := aw.Write(&recs[i]); err != nil {
					return err
				}
			}
			if len(recs) < f.Limit {
				return aw.Flush()
			}
			f.AfterSeq = recs[len(recs)-1].Seq
		}
	})
	return err
}

// VerifyAudit walks the caller's account's chain and reports the first bad record.
func (s *Service) VerifyAudit(ctx context.Context, p keyward.Principal) (audit.Report, error) {
	var rep audit.Report
	if err := s.audits.Flush(ctx); err != nil {
		return rep, err
	}
	err := s.read(ctx, p, keyward.ActAuditVerify, "", func(tx keyward.Tx) error {
		if err := keyward.Authorize(p, keyward.ActAuditVerify, nil); err != nil {
			return err
		}
		var err error
		rep, err = audit.Verify(tx, p.AccountID)
		return err
	})
	return rep, err
}

// VerifyAllAudit walks every chain in the database, for the operator.
func (s *Service) VerifyAllAudit(ctx context.Context) ([]audit.Report, error) {
	var out []audit.Report
	if err := s.audits.Flush(ctx); err != nil {
		return nil, err
	}
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		chains, err := tx.AuditChains()
		if err != nil {
			return err
		}
		for _, c := range chains {
			rep, err := audit.Verify(tx, c)
			if err != nil {
				return err
			}
			out = append(out, rep)
		}
		return nil
	})
	return out, err
}
