// Package e2etool finds the external programs end-to-end tests run
// (ffmpeg, chromium, baresip, sipp, nginx, promtool, ...). A missing one
// skips the test, except under scripts/test.sh (TESSERA_E2E=1), which
// installs them all: there a missing program fails the test.
package e2etool

import (
	"os"
	"os/exec"
	"testing"
)

// Need returns the path of program name, skipping or failing t when it
// is missing (see the package doc).
func Need(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("TESSERA_E2E") == "1" {
			t.Fatalf("%s missing (run scripts/test.sh): %v", name, err)
		}
		t.Skipf("%s missing (%v); scripts/test.sh installs it", name, err)
	}
	return p
}
