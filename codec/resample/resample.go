package resample

// Down converts PCM to a factor-th of its rate: it low-pass filters and
// keeps every factor-th sample.
type Down struct {
	k *kernel
	// line holds the last taps inputs twice over, newest first from
	// line[pos], so the filter always reads one contiguous window.
	line  []float32
	pos   int
	phase int // inputs since the last output
}

// NewDown returns a decimator by factor (one of Factors; otherwise an
// error wrapping ErrFactor).
func NewDown(factor int) (*Down, error) {
	k, err := kernelFor(factor)
	if err != nil {
		return nil, err
	}
	return &Down{k: k, line: make([]float32, 2*taps)}, nil
}

// Factor is the decimation factor.
func (d *Down) Factor() int { return d.k.factor }

// Process filters in and writes the decimated result to out, returning
// the number of samples written: len(in)/factor, give or take one when
// len(in) is not a multiple of the factor. out must hold len(in)/factor+1
// samples (len(in)/factor when every call passes a multiple of the
// factor); Process panics otherwise.
func (d *Down) Process(in, out []int16) int {
	n := 0
	f := d.k.factor
	for _, s := range in {
		d.pos--
		if d.pos < 0 {
			d.pos = taps - 1
		}
		v := float32(s)
		d.line[d.pos] = v
		d.line[d.pos+taps] = v
		d.phase++
		if d.phase < f {
			continue
		}
		d.phase = 0
		out[n] = Int16(dot(d.k.lowpass, d.line[d.pos:d.pos+taps]))
		n++
	}
	return n
}

// Reset clears the filter history.
func (d *Down) Reset() {
	clear(d.line)
	d.pos, d.phase = 0, 0
}

// Up converts PCM to factor times its rate: every input sample becomes
// factor output samples, interpolated by the polyphase branches of the
// low-pass filter.
type Up struct {
	k    *kernel
	line []float32 // the last taps/factor inputs twice over, as Down's
	pos  int
}

// NewUp returns an interpolator by factor (one of Factors; otherwise an
// error wrapping ErrFactor).
func NewUp(factor int) (*Up, error) {
	k, err := kernelFor(factor)
	if err != nil {
		return nil, err
	}
	return &Up{k: k, line: make([]float32, 2*taps/factor)}, nil
}

// Factor is the interpolation factor.
func (u *Up) Factor() int { return u.k.factor }

// Process interpolates in into out and returns factor*len(in). out must
// hold that many samples; Process panics otherwise.
func (u *Up) Process(in, out []int16) int {
	f := u.k.factor
	phaseLen := taps / f
	out = out[:f*len(in)]
	for i, s := range in {
		u.pos--
		if u.pos < 0 {
			u.pos = phaseLen - 1
		}
		v := float32(s)
		u.line[u.pos] = v
		u.line[u.pos+phaseLen] = v
		win := u.line[u.pos : u.pos+phaseLen]
		o := out[i*f : i*f+f]
		for k := range o {
			o[k] = Int16(dot(u.k.polyphase[k], win))
		}
	}
	return len(out)
}

// Synth upsamples n low-rate samples that gen makes, one by one (gen(0)
// to gen(n-1)), into out, a scratch buffer's length at a time; it
// returns the samples written. Decoders conceal losses with it.
func (u *Up) Synth(out, scratch []int16, n int, gen func(i int) int16) int {
	written := 0
	for done := 0; done < n; {
		chunk := scratch[:min(n-done, len(scratch))]
		for i := range chunk {
			chunk[i] = gen(done + i)
		}
		done += len(chunk)
		written += u.Process(chunk, out[written:])
	}
	return written
}

// Reset clears the filter history.
func (u *Up) Reset() {
	clear(u.line)
	u.pos = 0
}
