package e2etool

import (
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// StartChild starts cmd so that it dies with the test binary, even when
// the test is killed, and returns a channel closed once it has exited
// (waited for). The kernel sends the death signal when the thread that
// started the child ends, not the process; a thread Go destroys (one a
// goroutine locked and never unlocked, as Tessera's room workers do)
// would take the child with it. So the child is started, and waited for,
// from a goroutine locked to a thread of its own for the child's life.
func StartChild(cmd *exec.Cmd) (exited <-chan struct{}, err error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	started := make(chan error, 1)
	exit := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exit)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return exit, nil
}

// Terminate ends a child StartChild started: SIGTERM, then SIGKILL when
// it has not exited within grace. It returns once the child has exited,
// and whether it did so on SIGTERM.
func Terminate(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) (graceful bool) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return true
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-exited
		return false
	}
}
