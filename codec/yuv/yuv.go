// Package yuv scales I420 pictures with libyuv (Debian's libyuv-dev; it
// ships no pkg-config file, so the library is named directly).
//
// Scaling runs on the caller's goroutine; the C code reads and writes the Go
// frames' planes only for the duration of each call, which cgo's pointer
// rules allow because the planes hold no Go pointers.
package yuv

/*
#cgo LDFLAGS: -lyuv
#include <stdint.h>
#include <libyuv/scale.h>
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/tessera-mcu/tessera/codec"
)

// Filter selects the scaling quality.
type Filter int

// Filters, fastest first.
const (
	// Nearest is point sampling: blocky, fastest.
	Nearest Filter = iota
	// Linear filters horizontally only.
	Linear
	// Bilinear interpolates in both directions; good for upscaling and mild
	// downscaling.
	Bilinear
	// Box averages every source pixel; best for large downscaling ratios.
	Box
)

// Scale resizes the whole of src into the whole of dst.
func Scale(dst, src *codec.Frame, f Filter) error {
	return ScaleRect(dst, dst.Bounds(), src, f)
}

// ScaleRect resizes the whole of src into rectangle r of dst, leaving the
// rest of dst untouched. This is how the compositor draws a tile straight
// into the canvas with no intermediate copy. r must lie inside dst and have
// an even origin (chroma is subsampled 2x2); odd widths and heights are fine.
func ScaleRect(dst *codec.Frame, r codec.Rect, src *codec.Frame, f Filter) error {
	if r.Empty() || r.Intersect(dst.Bounds()) != r {
		return fmt.Errorf("%w: rectangle %v outside %dx%d canvas", codec.ErrFrameSize, r, dst.Width, dst.Height)
	}
	if r.X0%2 != 0 || r.Y0%2 != 0 {
		return fmt.Errorf("%w: rectangle origin (%d,%d) not even", codec.ErrFrameSize, r.X0, r.Y0)
	}
	if src.Width < 1 || src.Height < 1 {
		return fmt.Errorf("%w: empty source", codec.ErrFrameSize)
	}
	if f < Nearest || f > Box {
		return fmt.Errorf("%w: filter %d", codec.ErrInvalidConfig, f)
	}
	dcw := dst.ChromaWidth()
	yOff := r.Y0*dst.Width + r.X0
	cOff := (r.Y0/2)*dcw + r.X0/2
	rc := C.I420Scale(
		(*C.uint8_t)(unsafe.Pointer(&src.Y[0])), C.int(src.Width),
		(*C.uint8_t)(unsafe.Pointer(&src.U[0])), C.int(src.ChromaWidth()),
		(*C.uint8_t)(unsafe.Pointer(&src.V[0])), C.int(src.ChromaWidth()),
		C.int(src.Width), C.int(src.Height),
		(*C.uint8_t)(unsafe.Pointer(&dst.Y[yOff])), C.int(dst.Width),
		(*C.uint8_t)(unsafe.Pointer(&dst.U[cOff])), C.int(dcw),
		(*C.uint8_t)(unsafe.Pointer(&dst.V[cOff])), C.int(dcw),
		C.int(r.Dx()), C.int(r.Dy()),
		C.enum_FilterMode(f))
	if rc != 0 {
		return fmt.Errorf("%w: I420Scale returned %d", codec.ErrLibrary, int(rc))
	}
	return nil
}
