package channelz

// SetBounds lowers r's bounds on the servers, channels and sockets shown,
// before its first reading.
func SetBounds(r *Reader, servers, channels, sockets int) {
	r.max = bounds{servers: servers, channels: channels, sockets: sockets}
}
