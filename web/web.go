// Package web holds Tessera's browser client: static files embedded into the
// server binary with go:embed, so the page needs no build step and no files
// on disk at run time.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// files is the client's file tree, rooted at the page's top level.
func files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// Handler serves the client.
func Handler() http.Handler { return http.FileServerFS(files()) }
