"""A stock pipecat 1.14 telephone bot, the competitor in bench/headline.py.

Runs inside the venv that bench/pipecat_bot/venv.py makes (never in voicebot's): a
FastAPI WebSocket endpoint, as pipecat's Twilio examples serve one, with pipecat's own
pieces at their defaults: the Twilio serializer, Silero VAD and the default turn
strategies (smart-turn v3 bundled in pipecat) in the user context aggregator, Whisper
(faster-whisper) and Piper. Only the LLM is replaced, by a rule brain that answers every
turn, so the bench times the framework, not a language model. The Whisper model and the
Piper voice are the very files voicebot uses (passed by path).

    python bot.py --port 8765 --reply fresh --whisper DIR --voice-dir DIR
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import uvicorn
from fastapi import FastAPI, WebSocket
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import (
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TTSSpeakFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.runner.utils import parse_telephony_websocket
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.services.piper.tts import PiperTTSService
from pipecat.services.whisper.stt import WhisperSTTService
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)
from pipecat.workers.runner import WorkerRunner

# The same words voicebot's bench flows say (bench/flows/*.yaml).
GREETING = "Go on."
LONG_GREETING = (
    "Thank you. I am listening, and I will answer each thing you say with a short "
    "sentence, so that we can measure how quickly I reply and how quickly I stop."
)
CACHED_REPLY = "I see. Go on."
LONG_REPLY = (
    "I see. Please tell me more about it, and take your time: I will keep talking for "
    "a little while, so that you can interrupt me whenever you like."
)


def fresh_reply(caller: str, turn: int) -> str:
    return f"Noted, caller {caller}, turn {turn}. Please go on."


class RuleBrain(FrameProcessor):
    """Stands where the LLM would: one reply per finished user turn, as LLM text."""

    def __init__(self, mode: str, caller: str) -> None:
        super().__init__()
        self.mode, self.caller, self.turns = mode, caller, 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            if frame.speculation:
                return  # a provisional turn: an LLM service would hold its answer
            self.turns += 1
            if self.mode == "fresh":
                text = fresh_reply(self.caller, self.turns)
            else:
                text = LONG_REPLY if self.mode == "long" else CACHED_REPLY
            await self.push_frame(LLMFullResponseStartFrame())
            await self.push_frame(LLMTextFrame(text))
            await self.push_frame(LLMFullResponseEndFrame())
        else:
            await self.push_frame(frame, direction)


def make_app(mode: str, whisper: str, voice_dir: Path, voice: str) -> FastAPI:
    app = FastAPI()

    @app.websocket("/ws")
    async def media(websocket: WebSocket) -> None:
        await websocket.accept()
        _, call = await parse_telephony_websocket(websocket)
        caller = str((call.get("body") or {}).get("caller", "0"))
        serializer = TwilioFrameSerializer(
            stream_sid=call["stream_id"], call_sid=call.get("call_id"),
            params=TwilioFrameSerializer.InputParams(auto_hang_up=False))
        transport = FastAPIWebsocketTransport(websocket, FastAPIWebsocketParams(
            audio_in_enabled=True, audio_out_enabled=True, add_wav_header=False,
            serializer=serializer))
        # One model per call, as pipecat's examples build their services per connection.
        stt = WhisperSTTService(settings=WhisperSTTService.Settings(model=whisper),
                                device="cpu")
        tts = PiperTTSService(settings=PiperTTSService.Settings(voice=voice),
                              download_dir=voice_dir)
        user, assistant = LLMContextAggregatorPair(
            LLMContext(), user_params=LLMUserAggregatorParams(vad_analyzer=SileroVADAnalyzer()))
        pipeline = Pipeline([transport.input(), stt, user, RuleBrain(mode, caller), tts,
                             transport.output(), assistant])
        # Input stays at pipecat's default 16 kHz: its Whisper service hands the samples
        # to faster-whisper, which reads them as 16 kHz, so the serializer must upsample
        # the 8 kHz line (at 8000 Whisper hears the caller at double speed). Output at
        # 8 kHz, as pipecat's Twilio examples set it: the line's own rate.
        worker = PipelineWorker(pipeline, params=PipelineParams(
            audio_in_sample_rate=16000, audio_out_sample_rate=8000))

        @transport.event_handler("on_client_connected")
        async def greet(_transport: object, _ws: object) -> None:
            await worker.queue_frames(
                [TTSSpeakFrame(LONG_GREETING if mode == "long" else GREETING)])

        @transport.event_handler("on_client_disconnected")
        async def bye(_transport: object, _ws: object) -> None:
            await worker.cancel()

        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        await runner.run()

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--reply", choices=["cached", "fresh", "long"], default="cached")
    parser.add_argument("--whisper", required=True, help="CTranslate2 Whisper model dir")
    parser.add_argument("--voice-dir", type=Path, required=True)
    parser.add_argument("--voice", default="en_US-joe-medium")
    args = parser.parse_args()
    app = make_app(args.reply, args.whisper, args.voice_dir, args.voice)
    asyncio.run(uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port,
                                              log_level="warning")).serve())


if __name__ == "__main__":
    main()
