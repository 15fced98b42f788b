"""Every word list voicebot understands callers with: one list per idea, in one place.

The flow engine's slot filling and every NLU plugin read these lists (through
`voicebot.nlu.normalize`, `.numbers` and `.entities`), so a word added here is understood
the same way by `voicebot chat`, `voicebot test` and `voicebot serve`. Add a word to the
list of its idea rather than starting a new list elsewhere.

Everything is compared after `voicebot.nlu.normalize.words`: lower case, punctuation
gone, contractions expanded ("that's" -> "that is", "don't" -> "do not"). Write entries
in that form.
"""

from __future__ import annotations

# ---- normalisation (voicebot.nlu.normalize) ----------------------------------------------

# Listener noises rewritten to the answer they give, before punctuation is dropped (so
# "uh-huh" is still whole). Keys are matched as whole words in the lower-cased text.
BACKCHANNEL_ANSWERS = {
    "uh-huh": "yes",
    "uh huh": "yes",
    "mm-hmm": "yes",
    "mm hmm": "yes",
    "mhm": "yes",
    "mm-mm": "no",
    "uh-uh": "no",
}

# Whole-token rewrites. Apostrophe-less forms are how people type in `voicebot chat`.
CONTRACTIONS = {
    "can't": "cannot",
    "won't": "will not",
    "shan't": "shall not",
    "ain't": "is not",
    "let's": "let us",
    "y'all": "you all",
    "gonna": "going to",
    "wanna": "want to",
    "gotta": "got to",
    "lemme": "let me",
    "gimme": "give me",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "isnt": "is not",
    "cant": "cannot",
}
# Suffix rewrites for the contractions not listed whole.
CONTRACTION_SUFFIXES = (
    ("n't", " not"),
    ("'re", " are"),
    ("'m", " am"),
    ("'ll", " will"),
    ("'ve", " have"),
    ("'d", " would"),
)
# "'s" is "is" after these words; elsewhere it is a possessive and is just dropped.
S_IS = frozenset({"it", "that", "what", "there", "here", "he", "she", "who", "where", "how",
                  "this"})

# Words that carry no meaning on the phone, dropped before matching. "like" and "well" are
# kept: "I'd like" matters.
FILLERS = frozenset(
    {"um", "umm", "uh", "uhh", "uhm", "er", "erm", "err", "hmm", "hm", "mm", "ah", "eh",
     "please", "pls", "plz", "kindly"}
)

# Listener noises that acknowledge rather than answer, said over a prompt (see
# voicebot.call.backchannel: such an interruption is not a turn). Matched on lower-cased
# words with their hyphens kept ("uh-huh"), not on normalised text. "yes"/"no" are
# deliberately absent: when a state asks a yes/no question they are answers.
BACKCHANNELS = frozenset({
    "mhm", "mm", "hmm", "hm", "uh-huh", "uh", "huh", "um", "ah", "oh", "okay", "ok",
    "yeah", "yep", "right", "sure", "alright", "i", "see", "got", "it", "cool",
    "mm-hmm", "mhmm", "uh-hu", "hmmm", "yup",
})

# ---- numbers and digit strings (voicebot.nlu.numbers) -------------------------------------

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9,
}
TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
# Words that stand for "one" only right before a scale: "a hundred", not "a dog".
ONE_BEFORE_SCALE = frozenset({"a"})
REPEATS = {"double": 2, "triple": 3, "treble": 3}
# Zero said as a letter; zero only next to other digits: "oh, four five six" is a zero,
# "oh I see" is not.
ZERO_LETTERS = frozenset({"oh", "o"})
# Words a recogniser writes for a digit; digits only between other digits.
HOMOPHONES = {"to": 2, "too": 2, "for": 4, "won": 1, "ate": 8}
# After these, "one" is a pronoun ("the second one", "that one", "no one"), not the digit 1.
ONE_PRONOUN_AFTER = frozenset({"the", "that", "this", "which", "no", "any", "each", "every",
                               "other"})

# Quantities people say without a number ("a couple", "half a dozen"). Read only as a
# quantity, never as digits: "a couple" fills a number slot, not an account number.
QUANTITY_PHRASES = {
    "a couple": 2, "couple": 2, "a pair": 2, "a few": 3, "a dozen": 12, "dozen": 12,
    "half a dozen": 6, "a half dozen": 6, "half dozen": 6,
    # "the one" alone is a pronoun ("the one with ham"); with "just"/"only" it is a count.
    "just the one": 1, "only the one": 1,
}

ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "last": -1,
}
ORDINAL_SUFFIXES = ("st", "nd", "rd", "th")  # "3rd", "21st"
# Words after which a number names a position in a list: "option two", "press 3".
POSITION_WORDS = frozenset({"option", "number", "choice", "press"})

# ---- yes and no (voicebot.nlu.entities) ---------------------------------------------------

# Phrases, not just words: "not right" must beat "right", "i do not" beat "i do" (the
# longest phrase found first wins; see entities.find_yes_no).
YES = [
    "yes", "yeah", "yea", "yep", "yup", "ya", "yah", "aye", "sure", "correct", "right",
    "exactly", "absolutely", "definitely", "certainly", "of course", "ok", "okay", "alright",
    "all right", "affirmative", "indeed", "go ahead", "sounds good", "that is it",
    "i do", "it is", "please do", "true", "perfect", "fine", "good", "confirm", "confirmed",
]
NO = [
    "no", "nope", "nah", "naw", "negative", "not really", "incorrect", "wrong", "false",
    "never", "i do not", "it is not", "that is not", "not right", "not correct", "not it",
    "not quite", "do not", "not at all", "no way", "cancel",
]

# ---- intent matching (voicebot.nlu.similarity) --------------------------------------------

# Endings stripped (the first that fits) so "billing" meets "bill" and "calls" meets "call".
STEM_SUFFIXES = ("ing", "ed", "es", "s", "ly")
# Words that make two sentences look alike without saying what the caller wants.
STOPWORDS = frozenset(
    "i me my we our you your a an the to of for in on at is am are was be been would could "
    "can will shall should do does did like want wanted wanna need needs just so some about "
    "and or but hi hello hey there this that it its with get got have has had "
    "think see go going let us".split()
)
# Words too common across intents to be evidence for any one of them.
FUNCTION_WORDS = frozenset(
    "what when where how why who which not no yes now today please thank thanks okay ok "
    "right one really also actually again just".split()
)
