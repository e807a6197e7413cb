package keyward

import (
	"testing"
	"time"
)

func TestParseScheduleRuleRoundTrips(t *testing.T) {
	for in, want := range map[string]string{
		"every 6h":            "every 6h",
		"every 90m":           "every 1h30m",
		"every 7d":            "every 7d",
		"every 48h":           "every 2d",
		"Daily 02:30":         "daily 02:30",
		"weekly Monday 23:05": "weekly mon 23:05",
		"weekly sun 00:00":    "weekly sun 00:00",
		"monthly 28 12:00":    "monthly 28 12:00",
	} {
		r, err := ParseScheduleRule("rule", in)
		if err != nil {
			t.Errorf("ParseScheduleRule(%q): %v", in, err)
			continue
		}
		if got := r.String(); got != want {
			t.Errorf("ParseScheduleRule(%q).String() = %q, want %q", in, got, want)
		}
		if again, err := ParseScheduleRule("rule", r.String()); err != nil || again != r {
			t.Errorf("%q does not read back: %+v, %v", r.String(), again, err)
		}
	}
	for _, bad := range []string{"", "every", "every 30s", "every -1h", "every xd", "hourly 10:00", "daily 24:00",
		"daily 2:30", "weekly 02:30", "weekly funday 02:30", "monthly 29 02:30", "monthly 0 02:30", "daily 02:30 extra"} {
		if _, err := ParseScheduleRule("rule", bad); !IsCode(err, EINVALID) {
			t.Errorf("ParseScheduleRule(%q) accepted: %v", bad, err)
		}
	}
}

func TestScheduleRuleNext(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	rule := func(s string) ScheduleRule {
		r, err := ParseScheduleRule("rule", s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cases := []struct {
		name, rule, start, after, want string
	}{
		{"interval before start", "every 6h", "2026-11-23T10:00:00Z", "2026-11-01T00:00:00Z", "2026-11-23T10:00:00Z"},
		{"interval at start is taken", "every 6h", "2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z", "2026-11-23T16:00:00Z"},
		{"interval counts from start", "every 6h", "2026-11-23T10:00:00Z", "2026-11-24T03:59:59Z", "2026-11-24T04:00:00Z"},
		{"interval skips missed runs", "every 1h", "2026-11-23T10:00:00Z", "2026-11-25T10:30:00Z", "2026-11-25T11:00:00Z"},
		{"daily later today", "daily 02:30", "2026-01-01T00:00:00Z", "2026-11-23T01:00:00Z", "2026-11-23T02:30:00Z"},
		{"daily tomorrow", "daily 02:30", "2026-01-01T00:00:00Z", "2026-11-23T02:30:00Z", "2026-11-24T02:30:00Z"},
		{"daily from a future start", "daily 02:30", "2026-12-01T02:30:00Z", "2026-11-23T05:00:00Z", "2026-12-01T02:30:00Z"},
		{"weekly same day later", "weekly mon 09:00", "2026-01-01T00:00:00Z", "2026-11-23T08:00:00Z", "2026-11-23T09:00:00Z"}, // a Monday
		{"weekly next week", "weekly mon 09:00", "2026-01-01T00:00:00Z", "2026-11-23T09:00:00Z", "2026-11-30T09:00:00Z"},
		{"weekly from midweek", "weekly sun 00:00", "2026-01-01T00:00:00Z", "2026-11-25T12:00:00Z", "2026-11-29T00:00:00Z"},
		{"monthly this month", "monthly 28 12:00", "2026-01-01T00:00:00Z", "2026-11-23T00:00:00Z", "2026-11-28T12:00:00Z"},
		{"monthly over the year end", "monthly 1 00:00", "2026-01-01T00:00:00Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"monthly in February", "monthly 28 00:00", "2026-01-01T00:00:00Z", "2027-01-28T00:00:01Z", "2027-02-28T00:00:00Z"},
	}
	for _, c := range cases {
		got := rule(c.rule).Next(at(c.start), at(c.after))
		if !got.Equal(at(c.want)) {
			t.Errorf("%s: %s from %s after %s = %s, want %s", c.name, c.rule, c.start, c.after, got.Format(time.RFC3339), c.want)
		}
	}
}
