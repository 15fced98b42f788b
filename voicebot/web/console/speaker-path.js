// Where the bot's voice goes: through a local WebRTC loopback into an <audio> element,
// so the browser's echo canceller knows it as far-end audio. Chromium's canceller only
// removes what WebRTC plays (crbug 687574): a voice played straight from Web Audio would
// come back through the speakers into the microphone and barge in on itself. If the
// loopback does not connect (no WebRTC, a policy), the voice is played directly.
const CONNECT_TIMEOUT_MS = 3000;

export async function speakerPath(ctx) {
  const out = ctx.createGain();
  try {
    const loop = await loopback(ctx, out);
    return { node: out, kind: "webrtc-loopback", close: loop.close };
  } catch (err) {
    console.warn("echo-cancelled playback unavailable, playing directly:", err);
    out.connect(ctx.destination);
    return { node: out, kind: "direct", close: () => out.disconnect() };
  }
}

async function loopback(ctx, out) {
  const dest = ctx.createMediaStreamDestination();
  out.connect(dest);
  const sender = new RTCPeerConnection();
  const receiver = new RTCPeerConnection();
  sender.onicecandidate = (e) => e.candidate && receiver.addIceCandidate(e.candidate);
  receiver.onicecandidate = (e) => e.candidate && sender.addIceCandidate(e.candidate);
  const audio = new Audio();
  audio.autoplay = true;
  const track = new Promise((resolve) => {
    receiver.ontrack = (e) => resolve(e.streams[0]);
  });
  for (const t of dest.stream.getAudioTracks()) sender.addTrack(t, dest.stream);
  const offer = await sender.createOffer();
  await sender.setLocalDescription(offer);
  await receiver.setRemoteDescription(offer);
  const answer = await receiver.createAnswer();
  await receiver.setLocalDescription(answer);
  await sender.setRemoteDescription(answer);
  const close = () => {
    audio.srcObject = null;
    sender.close();
    receiver.close();
    out.disconnect();
  };
  const connected = new Promise((resolve, reject) => {
    receiver.onconnectionstatechange = () => {
      if (receiver.connectionState === "connected") resolve();
      if (receiver.connectionState === "failed") reject(new Error("loopback failed"));
    };
  });
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error("loopback timed out")), CONNECT_TIMEOUT_MS));
  try {
    audio.srcObject = await Promise.race([track, timeout]);
    await Promise.race([connected, timeout]);
    await audio.play();
  } catch (err) {
    close();
    throw err;
  }
  return { close };
}
