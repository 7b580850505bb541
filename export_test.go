package debugz

// FollowLogs lets the external tests read the log cursor the handler's
// follow streams use.
func (sp *SpanProcessor) FollowLogs(f LogFilter, pos uint64) ([]LogRecord, uint64, uint64) {
	return sp.followLogs(f, pos)
}
