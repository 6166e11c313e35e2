package room

import (
	"os"
	"testing"

	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// stalls watches, for the whole test run, for moments when the machine
// stops running this process (see testpeer.StallProbe): wall-clock
// assertions allow for them, and for nothing else.
var stalls *testpeer.StallProbe

func TestMain(m *testing.M) {
	stalls = testpeer.NewStallProbe()
	code := m.Run()
	stalls.Stop()
	os.Exit(code)
}
