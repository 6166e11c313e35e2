package room

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
)

// A panic in one room's code must never end the process: the worker
// threads run many rooms, and the decode threads many rooms' cameras. Each
// place that runs a room's code on a shared goroutine recovers, reports
// the panic with its stack and ends only what it happened in: the room (a
// tick), or the input (a decode or a network reader).

// panics counts the panics recovered in this process, by where they
// happened.
var panics struct {
	tick, decode, reader atomic.Uint64
}

// PanicStats is how many panics were recovered, by where they happened.
type PanicStats struct {
	Tick   uint64 `json:"tick"`
	Decode uint64 `json:"decode"`
	Reader uint64 `json:"reader"`
}

// Panics reports the panics recovered since the process started. Each one
// ended a room (tick) or one participant's input (decode, reader), never
// the process.
func Panics() PanicStats {
	return PanicStats{Tick: panics.tick.Load(), Decode: panics.decode.Load(), Reader: panics.reader.Load()}
}

// panicError is a recovered panic as an error.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// Unwrap makes a panic an ErrInternal.
func (e *panicError) Unwrap() error { return ErrInternal }

// recovered turns a recovered value into an error with the stack, logs it
// at error level (a panic is a bug: always worth a line) and counts it.
func recovered(v any, counter *atomic.Uint64, log *slog.Logger, msg string, args ...any) *panicError {
	err := &panicError{value: v, stack: debug.Stack()}
	n := counter.Add(1)
	log.Error(msg, append(args, "panic", fmt.Sprint(v), "panics", n, "stack", string(err.stack))...)
	return err
}

// testHooks let tests inject a panic where a real one would strike. They
// are nil outside tests.
var testHooks struct {
	tick   atomic.Pointer[func(*Room)]
	decode atomic.Pointer[func(*videoInput)]
}

func runHook[T any](h *atomic.Pointer[func(T)], v T) {
	if f := h.Load(); f != nil {
		(*f)(v)
	}
}
