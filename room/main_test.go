package room

import (
	"os"
	"testing"

	"github.com/tessera-mcu/tessera/room/roomtest"
)

// stalls watches, for the whole test run, for moments when the machine
// stops running this process (see roomtest.StallProbe): wall-clock
// assertions allow for them, and for nothing else.
var stalls *roomtest.StallProbe

func TestMain(m *testing.M) {
	stalls = roomtest.NewStallProbe()
	code := m.Run()
	stalls.Stop()
	os.Exit(code)
}
