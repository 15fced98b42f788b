"""The shape of a flow file, as pydantic models.

Only shape lives here (types, required fields, one trigger per transition). Whether a
target state exists, a template names a known slot, or the graph has dead ends is the
validator's job, because it needs the whole flow (includes and all) to decide.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voicebot.flow.http_spec import HttpSpec
from voicebot.flow.open_hours import OpenHours, check_timezone
from voicebot.types import SlotType

BargeInValue = Literal["true", "false", "dtmf"]
Text = str | list[str]  # a list is a set of variants


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _as_text(value: Any) -> Any:
    # YAML reads `dtmf: 1` or `digits: 123` as ints; keys and digits are strings to us.
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    return value


def _barge_in(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class RetrySpec(Strict):
    """What to do when the caller is silent (`no_input`) or not understood (`no_match`)."""

    retries: int | None = Field(default=None, ge=0)
    prompt: Text | None = None  # said before the state's prompt is asked again
    goto: str | None = None  # where to go when retries run out
    timeout: float | None = Field(default=None, gt=0)  # seconds; meaningful for no_input


class Terminal(Strict):
    """An ending: used when the turn guard trips."""

    say: Text | None = None
    transfer: str | None = None
    summary: str | None = None  # a template stored on the call record with the transfer
    hangup: bool = False

    @model_validator(mode="after")
    def _one_ending(self) -> Terminal:
        if bool(self.transfer) == bool(self.hangup):
            raise ValueError("give exactly one of 'transfer' or 'hangup: true'")
        if self.summary is not None and not self.transfer:
            raise ValueError("'summary' goes with 'transfer'")
        return self


class Defaults(Strict):
    no_input: RetrySpec = RetrySpec()
    no_match: RetrySpec = RetrySpec()
    error_prompt: str = "Sorry, something went wrong on my side. Could you say that again?"
    barge_in: BargeInValue = "true"
    max_turns: int = Field(default=20, ge=1)
    # Why hang up by default: a bot that loops is worse than one that says goodbye; a
    # flow that has an agent line should set `on_max_turns: {transfer: ...}`.
    on_max_turns: Terminal = Terminal(
        say="Sorry, I can't help you further on this call. Goodbye.", hangup=True
    )
    min_confidence: float = Field(default=0.5, ge=0, le=1)

    _coerce_barge_in = field_validator("barge_in", mode="before")(_barge_in)


class Intent(Strict):
    # One line saying what the caller means, in the caller's terms; a meaning-based NLU
    # matches against it besides the examples (the word matchers ignore it).
    description: str | None = Field(default=None, max_length=200)
    examples: list[str] = []
    regex: list[str] = []
    synonyms: dict[str, list[str]] = {}


    @field_validator("description")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and ("\n" in value.strip() or not value.strip()):
            raise ValueError("'description' is one non-empty line")
        return value.strip() if value is not None else None


class Collect(Strict):
    slot: str
    type: SlotType
    length: int | None = Field(default=None, ge=1)
    min_length: int | None = Field(default=None, ge=1)
    max_length: int | None = Field(default=None, ge=1)
    min: float | None = None
    max: float | None = None
    terminator: str = "#"
    choices: list[str] | dict[str, list[str]] | None = None
    confirm: Text | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Collect:
        if self.type == "choice" and not self.choices:
            raise ValueError("a 'choice' slot needs 'choices'")
        if self.type != "choice" and self.choices:
            raise ValueError("'choices' only applies to type 'choice'")
        if self.length is not None and (self.min_length or self.max_length):
            raise ValueError("give 'length' or 'min_length'/'max_length', not both")
        if self.min_length and self.max_length and self.min_length > self.max_length:
            raise ValueError("'min_length' is greater than 'max_length'")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("'min' is greater than 'max'")
        return self

    def choice_map(self) -> dict[str, list[str]]:
        if isinstance(self.choices, dict):
            return {name: list(words or []) for name, words in self.choices.items()}
        return {name: [] for name in self.choices or []}


TRIGGERS = ("intent", "dtmf", "filled")
ENDINGS = ("goto", "flow", "transfer", "hangup", "repeat")


class Transition(Strict):
    intent: str | None = None
    dtmf: str | None = None
    filled: str | None = None
    if_: str | None = Field(default=None, alias="if")
    set: dict[str, Any] = {}
    say: Text | None = None
    play: str | None = None
    digits: str | None = None
    goto: str | None = None
    flow: str | None = None
    transfer: str | None = None
    summary: str | None = None
    hangup: bool = False
    repeat: bool = False
    # A request made once the transition's say/play/digits are out; its ending waits for
    # the answer, and a failure takes `on_error` instead (voicebot/flow/http_spec.py).
    http: HttpSpec | None = None
    on_error: Transition | None = None

    _coerce = field_validator("dtmf", "digits", "transfer", mode="before")(_as_text)

    @model_validator(mode="after")
    def _shape(self) -> Transition:
        if (self.http is None) != (self.on_error is None):
            raise ValueError("'http' and 'on_error' go together: say where a failed request "
                             "goes")
        if self.summary is not None and not self.transfer:
            raise ValueError("'summary' goes with 'transfer'")
        endings = [name for name in ENDINGS if getattr(self, name)]
        if len(endings) > 1:
            raise ValueError(f"a transition takes one of {', '.join(ENDINGS)}; got {endings}")
        return self

    def trigger(self) -> str | None:
        found = [name for name in TRIGGERS if getattr(self, name) is not None]
        return found[0] if len(found) == 1 else None


class State(Strict):
    say: Text | None = None
    variants: Literal["cycle", "random"] = "cycle"
    play: str | None = None
    break_: bool = Field(default=False, alias="break")
    set: dict[str, Any] = {}
    collect: Collect | None = None
    on: list[Transition] = []
    digits: str | None = None
    goto: str | None = None
    flow: str | None = None
    transfer: str | None = None
    # What the bot learned, for the person the call goes to: a template, stored on the
    # call record with the transfer (docs/flows.md, "Transfer targets and hand-off").
    summary: str | None = None
    hangup: bool = False
    # Decided on arrival, without waiting: the first entry whose `if:` holds is taken
    # (`branch: [{if: "is_open()", goto: open}, {goto: closed}]`).
    branch: list[Transition] = []
    # A request made on arrival; the state moves on (goto/branch/...) once it is answered,
    # or takes `on_error` when it fails (voicebot/flow/http_spec.py).
    http: HttpSpec | None = None
    on_error: Transition | None = None
    no_input: RetrySpec | None = None
    no_match: RetrySpec | None = None
    barge_in: BargeInValue | None = None
    # True: every global intent applies; False: none; a list: only those named.
    globals: bool | list[str] = True

    _coerce = field_validator("digits", "transfer", mode="before")(_as_text)
    _coerce_barge_in = field_validator("barge_in", mode="before")(_barge_in)

    @model_validator(mode="after")
    def _shape(self) -> State:
        if self.summary is not None and not self.transfer:
            raise ValueError("'summary' goes with 'transfer'")
        endings = [name for name in ("goto", "flow", "transfer", "hangup", "branch")
                   if getattr(self, name)]
        if len(endings) > 1:
            raise ValueError("a state ends in at most one of goto/flow/transfer/hangup/branch: "
                             f"{endings}")
        if self.http is not None and (self.on or self.collect):
            raise ValueError("a state with 'http' moves on once answered: it takes no "
                             "'on'/'collect' (go to a state that waits)")
        if (self.http is None) != (self.on_error is None):
            raise ValueError("'http' and 'on_error' go together: say where a failed request "
                             "goes")
        if endings and (self.on or self.collect):
            raise ValueError(f"'{endings[0]}' leaves the state at once, so 'on'/'collect' "
                             "would never run")
        return self

    def waits(self) -> bool:
        """Whether the state waits for the caller (otherwise it moves on at once)."""
        return bool(self.on or self.collect)

    def allows_global(self, transition: Transition) -> bool:
        """Whether a global transition applies here (`globals:` true, false or a list)."""
        if self.globals is True:
            return True
        if self.globals is False:
            return False
        return transition.intent in self.globals


class FlowFile(Strict):
    name: str
    # A Whisper language code ("en", "fr", "es"...), optionally with a region ("fr-CA").
    language: str = Field("en", pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
    start: str | None = None
    # The IANA zone that `now()`, `hour()`, `is_open()`... read the time in.
    timezone: str = "UTC"
    open_hours: OpenHours | None = None
    include: list[str] = []
    defaults: Defaults = Defaults()
    vars: dict[str, Any] = {}
    intents: dict[str, Intent] = {}
    global_: list[Transition] = Field(default=[], alias="global")
    states: dict[str, State] = {}

    _zone = field_validator("timezone")(check_timezone)
