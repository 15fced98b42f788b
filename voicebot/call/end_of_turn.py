"""Does what the caller said so far sound finished? The end-of-turn decision's one input
besides silence (docs/turn-taking.md "When a turn ends").

The speculative transcript of the pause (ready a few hundred ms into it) is read for one
thing Whisper tiny.en gets right: the words. Its punctuation is no evidence: measured on
the bench's multi-clause answers (bench/callers.py LONG_ANSWERS) in three voices, quiet
and at -35 dBFS, it ended nearly every first clause with a full stop ("in the afternoon.",
"I would like a refund.") and left many whole answers without one. So a turn looks
unfinished when its last word is one a sentence does not end on (an article, a
possessive, a conjunction, most prepositions, a filler), or when Whisper did write a
comma, an ellipsis or a dash there. A clause that is grammatically complete ("I called
last week,") cannot be told from an answer by its words; the join window repairs those.

Pure: text in, verdict out.
"""

from __future__ import annotations

import re

# Words an English utterance almost never ends on. Left out on purpose: words that end
# ordinary answers ("no", "it is", "that", "then", "up", "out", "over", "too").
ARTICLES = {"a", "an", "the"}
DETERMINERS = {"my", "your", "our", "their", "his", "her", "its", "this", "these", "those",
               "some", "every", "each", "another"}
CONJUNCTIONS = {"and", "but", "or", "so", "because", "cause", "if", "unless", "although",
                "though", "whether", "while", "nor", "whereas", "since"}
PREPOSITIONS = {"in", "on", "at", "to", "for", "of", "with", "from", "into", "onto",
                "about", "after", "before", "between", "during", "without", "than",
                "towards", "toward", "via", "per", "like", "until", "till"}
# Not "hmm": Whisper spells the backchannel "mhm" as "Mm-hmm.", a whole turn.
FILLERS = {"um", "uh", "uhm", "umm", "uhh", "er", "erm", "ehm"}
SUBJECTS = {"i", "i'm", "i'd", "i'll", "we", "we're", "we'd", "they", "you're"}
CONTINUATION_WORDS = frozenset(
    ARTICLES | DETERMINERS | CONJUNCTIONS | PREPOSITIONS | FILLERS | SUBJECTS)
# What Whisper writes where a sentence goes on ("In the afternoon," "so...", "and -").
TRAILING_MARKS = (",", "...", "\u2026", "-", "\u2013", "\u2014", ":", ";")

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def last_word(text: str) -> str | None:
    """The last word of `text`, lower-case, apostrophes normalised; None if it has none."""
    tokens = _TOKEN.findall(text.lower().replace("\u2019", "'"))
    return tokens[-1] if tokens else None


def looks_unfinished(text: str) -> bool:
    """True when the caller, by what they said so far, is in the middle of a sentence.

    An empty transcript (a noise, a word Whisper lost) is not unfinished: waiting longer
    for it would only delay the re-prompt.
    """
    stripped = text.strip()
    if not stripped:
        return False
    if stripped.endswith(TRAILING_MARKS):
        return True
    word = last_word(stripped)
    return word is not None and word in CONTINUATION_WORDS
