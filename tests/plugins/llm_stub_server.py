"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API.

Its "model" is a script: keyword rules pick an intent among those the request's JSON
schema allows, and a spoken-digit reader fills digit slots, so tests can check what the
plugin sent and how it reads the answer, including the failure modes (slow, garbage,
a server that rejects json_schema).
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

DIGITS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
          "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}


class ScriptedModel:
    def __init__(self, keywords: dict[str, list[str]]) -> None:
        self.keywords = keywords
        self.mode = "ok"  # ok | slow | garbage | reject_schema | invent
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        fmt = request.get("response_format", {})
        if fmt.get("type") == "json_schema":
            schema = fmt["json_schema"]["schema"]
            allowed = [x for x in schema["properties"]["intent"]["enum"] if x is not None]
            slot_schema = schema["properties"]["slot"]
        else:  # json_object: read the intents from the prompt, as a model would
            system = request["messages"][0]["content"]
            allowed = re.findall(r"^- (\w+)", system, flags=re.MULTILINE)
            slot_schema = {}
        said = request["messages"][-1]["content"].lower()
        intent = None
        for name in allowed:
            if any(k in said for k in self.keywords.get(name, [])):
                intent = name
                break
        if self.mode == "invent":
            intent = "launch_rockets"
        slot: Any = None
        if "pattern" in slot_schema:  # a digits slot
            digits = "".join(DIGITS[w] for w in re.findall(r"[a-z]+", said) if w in DIGITS)
            slot = digits or None
        elif slot_schema.get("type") == ["boolean", "null"]:
            slot = True if re.search(r"\b(sure|i guess so|go on)\b", said) else None
        return {"intent": intent, "confidence": 0.9 if intent else 0.2, "slot": slot}


class StubLLMServer:
    def __init__(self, model: ScriptedModel) -> None:
        self.model = model
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                request = json.loads(self.rfile.read(length))
                model = server.model
                model.requests.append({"path": self.path, "body": request,
                                       "auth": self.headers.get("Authorization")})
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": "not found"}})
                fmt = request.get("response_format", {}).get("type")
                if model.mode == "reject_schema" and fmt == "json_schema":
                    return self._send(400, {"error": {"message": "json_schema unsupported"}})
                if model.mode == "slow":
                    time.sleep(model.delay)
                content = ("I think the caller wants billing" if model.mode == "garbage"
                           else json.dumps(model.answer(request)))
                self._send(200, {
                    "id": "chatcmpl-stub", "object": "chat.completion", "model": request["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                })

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (time-out test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
