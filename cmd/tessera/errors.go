package main

import "errors"

// errConfig marks configuration mistakes (exit status 2).
var errConfig = errors.New("configuration")

// errDraining: the server is shutting down and takes no new clients.
var errDraining = errors.New("draining: shutting down")
