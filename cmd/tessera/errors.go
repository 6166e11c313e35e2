package main

import "errors"

// errConfig marks configuration mistakes (exit status 2).
var errConfig = errors.New("configuration")
