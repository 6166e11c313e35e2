package testpeer

import "github.com/tessera-mcu/tessera/codec"

// The frame counter is 16 black or white cells across the top eighth of
// the picture: 12 bits of the frame number and a 4-bit check. Cells are
// large so the pattern survives scaling into a tile and two lossy encodes.
const (
	counterCells = 16
	counterBits  = 12
)

func counterWord(n int) uint16 {
	v := uint16(n) & (1<<counterBits - 1)
	check := (v ^ v>>4 ^ v>>8) & 0xf
	return v | check<<counterBits
}

// DrawCounter draws frame number n (mod 4096) on f.
func DrawCounter(f *codec.Frame, n int) {
	w := counterWord(n)
	cw, ch := f.Width/counterCells&^1, f.Height/8&^1
	for i := range counterCells {
		c := codec.Black
		if w>>i&1 == 1 {
			c = codec.White
		}
		f.FillRect(codec.R(i*cw, 0, cw, ch), c)
	}
}

// ReadCounter reads the counter from a picture whose whole area is the
// sender's picture (a one-tile composite); ok is false when the check
// fails.
func ReadCounter(f *codec.Frame) (n int, ok bool) {
	cw, ch := f.Width/counterCells, f.Height/8
	if cw < 4 || ch < 4 {
		return 0, false
	}
	var w uint16
	for i := range counterCells {
		m := f.Mean(codec.R(i*cw+cw/4, ch/4, cw/2, ch/2))
		switch {
		case m.Y > 170:
			w |= 1 << i
		case m.Y < 70:
		default:
			return 0, false // not a counter cell
		}
	}
	v := w & (1<<counterBits - 1)
	if counterWord(int(v)) != w {
		return 0, false
	}
	return int(v), true
}
