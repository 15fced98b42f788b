// The bot's voice: streamAudio chunks played back to back, as a media server's queue
// plays them; `stop()` is a break: what is queued is dropped at once.
export class Player {
  constructor(ctx, output) {
    this.ctx = ctx;
    this.output = output; // an AudioNode (see speaker-path.js)
    this.sources = new Set();
    this.next = 0; // context time at which the queue runs dry
  }

  get playing() {
    return this.next > this.ctx.currentTime;
  }

  // pcm: Int16Array, little-endian PCM16 as the server sent it.
  push(pcm, rate) {
    if (!pcm.length) return;
    const buffer = this.ctx.createBuffer(1, pcm.length, rate);
    const data = buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 32768;
    const source = this.ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.output);
    // A small lead when the queue was empty, so the first chunks do not underrun.
    const start = Math.max(this.next, this.ctx.currentTime + 0.05);
    source.start(start);
    this.next = start + buffer.duration;
    this.sources.add(source);
    source.onended = () => this.sources.delete(source);
  }

  stop() {
    for (const source of this.sources) {
      try { source.stop(); } catch { /* already ended */ }
    }
    this.sources.clear();
    this.next = 0;
  }
}

export function decodePcm16(base64) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  const pcm = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < pcm.length; i++) pcm[i] = view.getInt16(2 * i, true);
  return pcm;
}
