package procstat

import (
	"os"
	"testing"
	"time"
)

// The test's own CPU time grows while it spins.
func TestCPUSecondsGrows(t *testing.T) {
	a, err := CPUSeconds(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
	}
	b, err := CPUSeconds(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if b <= a {
		t.Fatalf("CPU time %v then %v after 100 ms of spinning", a, b)
	}
}
