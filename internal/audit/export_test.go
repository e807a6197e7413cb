package audit

// ReleaseForTest abandons a spool the way a killed process does: its file lock and mapping
// go, nothing is moved or closed cleanly.
func ReleaseForTest(s *Spool) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.unmap()
	s.f.Close()
}
