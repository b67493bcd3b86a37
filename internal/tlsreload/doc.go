// Package tlsreload serves TLS certificates (and the client CA pool) that
// can be replaced while the server runs: Reload reads the files again and
// swaps them in atomically for new handshakes, while established
// connections keep the session they negotiated. A file that fails to load
// leaves the previous certificate in place.
package tlsreload
