package service

import (
	"context"
	"fmt"
	"time"

	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
)

// ActAzureSyncSchedule sets or removes a group's sync schedule.
const ActAzureSyncSchedule keyward.Action = "azure.sync.schedule"

func init() {
	keyward.RegisterAction(ActAzureSyncSchedule, false, true, true)
}

// SyncScheduleInput sets when a group syncs on its own.
type SyncScheduleInput struct {
	Rule     string    // "every 6h", "daily 02:30", "weekly mon 02:30", "monthly 1 02:30" (UTC)
	StartAt  time.Time // no run before; intervals count from it (zero: now)
	Disabled bool      // keep the schedule but run nothing
}

// SetSyncSchedule makes a group sync with its vault on a schedule, replacing the one it
// had. Each run is an ordinary sync job, skipped while the previous one is still running.
func (s *Service) SetSyncSchedule(ctx context.Context, p keyward.Principal, groupID string, in SyncScheduleInput) (*keyward.Schedule, error) {
	rule, err := keyward.ParseScheduleRule("rule", in.Rule)
	if err != nil {
		return nil, err
	}
	var sc *keyward.Schedule
	err = s.changeAndStart(ctx, p, ActAzureSyncSchedule, "group:"+groupID, func(tx keyward.Tx, o *op) error {
		g, link, err := azureGroup(tx, p, groupID, ActAzureSyncSchedule)
		if err != nil {
			return err
		}
		o.target = "group:" + g.Group.ID
		old, err := syncScheduleOf(tx, link)
		if err != nil {
			return err
		}
		if old != nil {
			if err := tx.DeleteSchedule(link.AccountID, old.ID); err != nil {
				return err
			}
		}
		sc, err = s.jobs.CreateSchedule(tx, jobs.ScheduleSpec{Rule: rule, Disabled: in.Disabled,
			Job: jobs.Spec{AccountID: p.AccountID, CreatedBy: p.Actor(), GroupID: g.Group.ID, Kind: KindAzureSync,
				Title: "Scheduled sync with Azure", RunAt: in.StartAt}})
		if err != nil {
			return err
		}
		o.detail = fmt.Sprintf("sync %s, next at %s", rule, sc.NextRunAt.UTC().Format(time.RFC3339))
		if in.Disabled {
			o.detail += " (disabled)"
		}
		return nil
	})
	return sc, err
}

// SyncSchedule returns a group's sync schedule; ENOTFOUND when it has none.
func (s *Service) SyncSchedule(ctx context.Context, p keyward.Principal, groupID string) (*keyward.Schedule, error) {
	var sc *keyward.Schedule
	err := s.read(ctx, p, keyward.ActGroupRead, "group:"+groupID, func(tx keyward.Tx) error {
		_, link, err := azureGroup(tx, p, groupID, keyward.ActGroupRead)
		if err != nil {
			return err
		}
		if sc, err = syncScheduleOf(tx, link); err == nil && sc == nil {
			err = keyward.Errorf(keyward.ENOTFOUND, "group %q syncs only when asked: it has no sync schedule", groupID)
		}
		return err
	})
	return sc, err
}

// DeleteSyncSchedule stops a group's scheduled syncs; its past jobs stay.
func (s *Service) DeleteSyncSchedule(ctx context.Context, p keyward.Principal, groupID string) error {
	return s.change(ctx, p, ActAzureSyncSchedule, "group:"+groupID, func(tx keyward.Tx, o *op) error {
		g, link, err := azureGroup(tx, p, groupID, ActAzureSyncSchedule)
		if err != nil {
			return err
		}
		o.target = "group:" + g.Group.ID
		sc, err := syncScheduleOf(tx, link)
		if err != nil {
			return err
		}
		if sc == nil {
			return keyward.Errorf(keyward.ENOTFOUND, "group %q has no sync schedule", groupID)
		}
		o.detail = "sync schedule removed (" + sc.Rule.String() + ")"
		return tx.DeleteSchedule(link.AccountID, sc.ID)
	})
}

// syncScheduleOf finds the group's sync schedule, or nil.
func syncScheduleOf(tx keyward.Tx, link *keyward.AzureLink) (*keyward.Schedule, error) {
	return findSchedule(tx, link.AccountID, link.GroupID, func(sc *keyward.Schedule) bool { return sc.Kind == KindAzureSync })
}

// findSchedule returns the first of a group's schedules that match, or nil.
func findSchedule(tx keyward.Tx, accountID, groupID string, match func(*keyward.Schedule) bool) (*keyward.Schedule, error) {
	page := keyward.Page{Limit: 100}
	for {
		scs, err := tx.ListSchedules(accountID, groupID, page)
		if err != nil {
			return nil, err
		}
		for i := range scs {
			if match(&scs[i]) {
				return &scs[i], nil
			}
		}
		if len(scs) < page.Limit {
			return nil, nil
		}
		page.After = scs[len(scs)-1].ID
	}
}
