package janus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// fields is a JSON object read one field at a time: a request's envelope,
// a plugin request's body, a JSEP. A field that is absent and one that is
// null are the same: missing. The readers' errors are *fieldError, which
// the gateway answers with Janus's core codes (456, 467) and the plugins
// with their own (483, 484).
type fields map[string]json.RawMessage

// has reports whether field k is present and not null.
func (f fields) has(k string) bool {
	v, ok := f[k]
	return ok && string(v) != "null"
}

// str reads a string field.
func (f fields) str(k string, required bool) (string, error) {
	var s string
	err := f.read(k, required, "a string", &s)
	return s, err
}

// uint reads an unsigned integer field (an ID, a room number).
func (f fields) uint(k string, required bool) (uint64, error) {
	var n uint64
	err := f.read(k, required, "a positive integer", &n)
	return n, err
}

// boolean reads an optional boolean field; nil when it is missing.
func (f fields) boolean(k string) (*bool, error) {
	if !f.has(k) {
		return nil, nil
	}
	var v bool
	if err := f.read(k, false, "a boolean", &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// object reads a required object field, undecoded.
func (f fields) object(k string) (json.RawMessage, error) {
	if !f.has(k) {
		return nil, &fieldError{key: k, err: errMissingField}
	}
	if t := bytes.TrimSpace(f[k]); len(t) == 0 || t[0] != '{' {
		return nil, &fieldError{key: k, want: "an object", err: errFieldType}
	}
	return f[k], nil
}

// read decodes field k into v; want names its JSON type in the error.
func (f fields) read(k string, required bool, want string, v any) error {
	if !f.has(k) {
		if required {
			return &fieldError{key: k, err: errMissingField}
		}
		return nil
	}
	if json.Unmarshal(f[k], v) != nil {
		return &fieldError{key: k, want: want, err: errFieldType}
	}
	return nil
}

// fieldError is a field a request lacks (errMissingField) or has with
// the wrong JSON type (errFieldType).
type fieldError struct {
	key  string
	want string // the JSON type the field should have
	err  error
}

func (e *fieldError) Error() string {
	if e.want == "" {
		return fmt.Sprintf("%v (%s)", e.err, e.key)
	}
	return fmt.Sprintf("%v (%s should be %s)", e.err, e.key, e.want)
}

func (e *fieldError) Unwrap() error { return e.err }

// coreError is a field reader's error as the Janus core answers it.
func coreError(err error) *Error {
	var fe *fieldError
	if !errors.As(err, &fe) {
		return errorf(CodeUnknown, "%v", err)
	}
	if errors.Is(fe, errMissingField) {
		return errorf(CodeMissingMandatory, "Missing mandatory element (%s)", fe.key)
	}
	return errorf(CodeInvalidElementType, "Invalid element type (%s should be %s)", fe.key, fe.want)
}

// fieldReader reads several optional fields, keeping the first error:
// read everything, then check err once.
type fieldReader struct {
	f   fields
	err error
}

func (r *fieldReader) str(k string) string {
	if r.err != nil {
		return ""
	}
	v, err := r.f.str(k, false)
	r.err = err
	return v
}

func (r *fieldReader) uint(k string) uint64 {
	if r.err != nil {
		return 0
	}
	v, err := r.f.uint(k, false)
	r.err = err
	return v
}

func (r *fieldReader) boolean(k string) *bool {
	if r.err != nil {
		return nil
	}
	v, err := r.f.boolean(k)
	r.err = err
	return v
}
