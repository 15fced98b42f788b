from __future__ import annotations

import pytest

from voicebot.audio.sentences import split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("   ", []),
        ("ok", ["ok"]),
        (
            "Your balance is 3.5 euros. Anything else?",
            ["Your balance is 3.5 euros.", "Anything else?"],
        ),
        (
            "Mr. Smith will call you back. He is out.",
            ["Mr. Smith will call you back.", "He is out."],
        ),
        (
            "I can book a table, e.g. for two. Shall I?",
            ["I can book a table, e.g. for two. Shall I?"],
        ),
        (
            "Call ext. 204 or room No. 5 please. No. I said no.",
            ["Call ext. 204 or room No. 5 please.", "No. I said no."],
        ),
        ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
        ("J. R. R. Tolkien wrote it. Great book.", ["J. R. R. Tolkien wrote it.", "Great book."]),
        ("Meet at 10 a.m. tomorrow. See you then.", ["Meet at 10 a.m. tomorrow.", "See you then."]),
        ("We sell pears, etc. Do you want some?", ["We sell pears, etc.", "Do you want some?"]),
        ("Wait... what happened? Nothing at all!", ["Wait... what happened?", "Nothing at all!"]),
        ("First line\n\nSecond line without stop", ["First line", "Second line without stop"]),
        ("Is it ready?! Yes it is.", ["Is it ready?!", "Yes it is."]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_short_fragments_merge_into_neighbours() -> None:
    assert split_sentences("Hello. How can I help you today?") == [
        "Hello. How can I help you today?"
    ]
    assert split_sentences("Thank you for calling us today. Bye.") == [
        "Thank you for calling us today. Bye."
    ]


def test_long_sentence_cut_after_comma() -> None:
    text = ", ".join(f"item number {i}" for i in range(30)) + "."
    pieces = split_sentences(text, max_chars=80)
    assert all(len(p) <= 80 for p in pieces)
    assert " ".join(pieces) == text


def test_sentences_rejoin_to_the_text() -> None:
    text = "Good morning.  Your order  No. 42 ships on Jan. 5. Thanks, Dr. Who!"
    assert " ".join(split_sentences(text)) == " ".join(text.split())
