"""Language helpers shared by the NLU plugins: normalisation, numbers, yes/no, choices."""

from voicebot.nlu.entities import extract, find_choice, find_yes_no
from voicebot.nlu.normalize import normalize, words
from voicebot.nlu.numbers import find_digits, find_number, find_ordinal

__all__ = [
    "extract", "find_choice", "find_digits", "find_number", "find_ordinal", "find_yes_no",
    "normalize", "words",
]
