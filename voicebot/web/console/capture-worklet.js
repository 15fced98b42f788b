// The microphone, resampled to 8 kHz in the audio thread and cut into 20 ms frames.
//
// A low-pass FIR (windowed sinc, cut-off 3.6 kHz) keeps what a telephone carries and
// removes what would alias below 4 kHz; outputs are read at fractional input positions
// (linear interpolation between two filtered samples, which is exact enough once the
// signal is band-limited this far below the input's Nyquist frequency).
const OUT_RATE = 8000;
const FRAME = 160; // 20 ms at 8 kHz
const CUTOFF = 3600;
const HALF = 96; // taps each side of the centre: a 1 kHz transition band at 48 kHz

function kernel(inRate) {
  const fc = CUTOFF / inRate;
  const h = new Float32Array(2 * HALF + 1);
  let sum = 0;
  for (let k = -HALF; k <= HALF; k++) {
    const x = 2 * fc * k;
    const sinc = k === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const w = 0.42 + 0.5 * Math.cos((Math.PI * k) / HALF) + 0.08 * Math.cos((2 * Math.PI * k) / HALF); // Blackman
    h[k + HALF] = sinc * w;
    sum += h[k + HALF];
  }
  for (let i = 0; i < h.length; i++) h[i] /= sum; // unity gain at DC
  return h;
}

class Capture8k extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / OUT_RATE; // input samples per output sample
    this.h = kernel(sampleRate);
    // Input not yet consumed, after HALF samples of history (silence before the start).
    this.buf = new Float32Array(HALF);
    this.pos = HALF; // fractional index in buf of the next output sample
    this.frame = new Int16Array(FRAME);
    this.filled = 0;
  }

  filtered(i) {
    const h = this.h, b = this.buf;
    let acc = 0;
    for (let k = 0; k < h.length; k++) acc += h[k] * b[i - HALF + k];
    return acc;
  }

  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    const grown = new Float32Array(this.buf.length + input.length);
    grown.set(this.buf);
    grown.set(input, this.buf.length);
    this.buf = grown;
    while (Math.floor(this.pos) + 1 + HALF < this.buf.length) {
      const i = Math.floor(this.pos), frac = this.pos - i;
      const y = this.filtered(i) * (1 - frac) + this.filtered(i + 1) * frac;
      this.frame[this.filled++] = Math.max(-32768, Math.min(32767, Math.round(y * 32767)));
      if (this.filled === FRAME) {
        this.port.postMessage(this.frame, [this.frame.buffer]);
        this.frame = new Int16Array(FRAME);
        this.filled = 0;
      }
      this.pos += this.step;
    }
    const drop = Math.floor(this.pos) - HALF; // keep HALF samples of history
    if (drop > 0) {
      this.buf = this.buf.slice(drop);
      this.pos -= drop;
    }
    return true;
  }
}

registerProcessor("capture-8k", Capture8k);
