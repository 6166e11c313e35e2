package resample

import "errors"

// ErrFactor reports a resampling factor the package has no filter for
// (see Factors).
var ErrFactor = errors.New("resample: unsupported factor")
