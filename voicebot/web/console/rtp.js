// The wire a media server speaks: G.711 µ-law in RTP, keys as RFC 4733 telephone-events.
export const PCMU = 0;
export const FRAME_SAMPLES = 160; // 20 ms at 8 kHz
const KEYS = "0123456789*#ABCD";

export function ulawEncode(pcm) {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) {
    let s = pcm[i];
    const sign = s < 0 ? 0x80 : 0;
    if (s < 0) s = -s;
    if (s > 32635) s = 32635;
    s += 0x84;
    let exponent = 7;
    for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
    const mantissa = (s >> (exponent + 3)) & 0x0f;
    out[i] = ~(sign | (exponent << 4) | mantissa) & 0xff;
  }
  return out;
}

function randomU32() {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

export class RtpStream {
  constructor(dtmfPayloadType = 101) {
    this.seq = randomU32() & 0xffff;
    this.ts = randomU32();
    this.ssrc = randomU32();
    this.dtmfPt = dtmfPayloadType;
    this.first = true;
  }

  packet(pt, marker, timestamp, payload) {
    const buf = new Uint8Array(12 + payload.length);
    const view = new DataView(buf.buffer);
    buf[0] = 0x80; // version 2
    buf[1] = (marker ? 0x80 : 0) | pt;
    view.setUint16(2, this.seq);
    view.setUint32(4, timestamp >>> 0);
    view.setUint32(8, this.ssrc);
    buf.set(payload, 12);
    this.seq = (this.seq + 1) & 0xffff;
    return buf.buffer;
  }

  // One 20 ms frame of 8 kHz int16 audio as a PCMU packet.
  audio(pcm) {
    const pkt = this.packet(PCMU, this.first, this.ts, ulawEncode(pcm));
    this.first = false;
    this.ts = (this.ts + pcm.length) >>> 0;
    return pkt;
  }

  // A 100 ms key press: five event packets in place of five audio frames, the last
  // (the end) three times, as RFC 4733 asks. Returns one list of packets per 20 ms.
  key(digit) {
    const event = KEYS.indexOf(String(digit).toUpperCase());
    if (event < 0) throw new Error(`not a DTMF key: ${digit}`);
    const slots = [];
    for (let i = 1; i <= 5; i++) {
      const end = i === 5;
      const payload = new Uint8Array([event, (end ? 0x80 : 0) | 10, 0, 0]);
      new DataView(payload.buffer).setUint16(2, i * FRAME_SAMPLES);
      const pkt = this.packet(this.dtmfPt, i === 1, this.ts, payload);
      slots.push(end ? [pkt, pkt, pkt] : [pkt]);
    }
    this.ts = (this.ts + 5 * FRAME_SAMPLES) >>> 0;
    return slots;
  }
}
