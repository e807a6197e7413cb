package keyward

import (
	"strings"
	"time"
	"unicode/utf8"
)

// LogLevel grades a service log entry.
type LogLevel string

const (
	LogInfo  LogLevel = "INFO"  // done as asked
	LogWarn  LogLevel = "WARN"  // done, or will be retried, after a recoverable error
	LogError LogLevel = "ERROR" // could not be done
)

// LogLevels lists the levels from least to most severe.
var LogLevels = []LogLevel{LogInfo, LogWarn, LogError}

// ParseLogLevel reads a level in any case ("warn", "WARN").
func ParseLogLevel(field, s string) (LogLevel, error) {
	l := LogLevel(strings.ToUpper(strings.TrimSpace(s)))
	for _, v := range LogLevels {
		if l == v {
			return l, nil
		}
	}
	return "", Invalid(field, "%q is not a level: use INFO, WARN or ERROR", s)
}

// ServiceLogEntry is one event in a group's service log: what Keyward did on the group's
// behalf outside a request, chiefly its jobs' calls to Azure. Unlike the audit trail the
// service log is operational: it goes with its group.
type ServiceLogEntry struct {
	Seq       int64 // assigned by the store; increases with every entry
	AccountID string
	GroupID   string
	Time      time.Time
	Level     LogLevel
	Message   string // caller-safe, never secret
	JobID     string // the job that wrote it, or ""
	Detail    string // more about it, e.g. the remote error; caller-safe, never secret
}

// Lengths past which a service log entry's text is cut: a log line must not fail to be
// written because a remote error was long.
const (
	MaxLogMessage = 1024
	MaxLogDetail  = 8192
)

// Trim cuts Message and Detail to their maximum lengths on a character boundary.
func (e *ServiceLogEntry) Trim() {
	e.Message = CutText(e.Message, MaxLogMessage)
	e.Detail = CutText(e.Detail, MaxLogDetail)
}

// CutText cuts s to at most n bytes on a character boundary and marks the cut with "…".
func CutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ServiceLogFilter selects entries of one group's service log. Zero values mean "any".
type ServiceLogFilter struct {
	AccountID string
	GroupID   string
	Levels    []LogLevel
	Since     time.Time // inclusive
	Until     time.Time // exclusive
	JobID     string
	Contains  string // case-insensitive text in the message or the detail
	// Oldest lists oldest first, from entries after Cursor; otherwise newest first, from
	// entries before Cursor (0: from the newest).
	Oldest bool
	Cursor int64
	Limit  int // 0 means DefaultPageLimit
}
