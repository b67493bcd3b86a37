package demo

import (
	"embed"
	"io/fs"
)

//go:embed web
var web embed.FS

// Files returns the demo's web pages: index.html (the LED), chat.html (the
// chat room) and their scripts and style sheet. The pages find the
// WebSocket endpoint in config.js, which NewMux generates.
func Files() fs.FS {
	sub, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // "web" is embedded above; fs.Sub fails only on a bad name
	}
	return sub
}
