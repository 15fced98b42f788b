"""French numbers, digit strings, yes/no and backchannels as French callers say them."""

from __future__ import annotations

import pytest

from voicebot.nlu.french import (
    find_digits,
    find_number,
    find_yes_no,
    is_backchannel,
    spell_pairs,
    words,
)


@pytest.mark.parametrize(("said", "value"), [
    ("quatre-vingt-dix-sept", 97), ("soixante et onze", 71), ("deux mille vingt-six", 2026),
    ("soixante-seize", 76), ("quatre-vingt-onze", 91), ("vingt et un", 21),
    ("quatre-vingts", 80), ("soixante-dix", 70), ("dix-sept", 17), ("cent", 100),
    ("mille deux cents", 1200), ("un million deux cent mille trois", 1_200_003),
    ("septante-deux", 72), ("nonante-neuf", 99), ("trois cent quatre", 304),
    ("j'en veux douze", 12),
])
def test_quantities(said: str, value: int) -> None:
    assert find_number(words(said)) == value


@pytest.mark.parametrize(("said", "digits"), [
    # The issue's own example: a customer number said in two groups of three.
    ("mon numéro client est le quatre cent cinquante-six, sept cent quatre-vingt-neuf",
     "456789"),
    ("zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit", "0612345678"),
    ("quatre cinq six", "456"),
    ("c'est le 06 12 34", "061234"),
    ("zéro un quarante-cinq", "0145"),
])
def test_digit_strings_said_in_groups(said: str, digits: str) -> None:
    assert find_digits(words(said)) == digits


def test_no_number_is_none() -> None:
    assert find_digits(words("je voudrais parler à quelqu'un")) is None
    assert find_number(words("bonjour")) is None


@pytest.mark.parametrize(("said", "answer"), [
    ("oui", True), ("Ouais, bien sûr.", True), ("d'accord", True), ("tout à fait", True),
    ("absolument", True), ("c'est ça", True), ("Oui, oui.", True),
    ("non", False), ("Non merci.", False), ("pas du tout", False), ("absolument pas", False),
    ("c'est pas ça", False), ("pas vraiment", False),
    ("je ne sais pas", None), ("bonjour", None),
])
def test_yes_and_no(said: str, answer: bool | None) -> None:
    assert find_yes_no(said) is answer


def test_accents_elisions_and_fillers() -> None:
    assert words("Euh, j'voudrais parler à l'agent") == (
        "j", "voudrais", "parler", "a", "l", "agent")
    assert words("Réservation") == words("reservation")


@pytest.mark.parametrize("said", ["d'accord", "Hum.", "oui oui", "je vois", "très bien"])
def test_backchannels(said: str) -> None:
    assert is_backchannel(said)


def test_a_real_answer_is_not_a_backchannel() -> None:
    assert not is_backchannel("je voudrais un rendez-vous")


def test_spell_pairs_reads_numbers_as_french_callers_give_them() -> None:
    assert spell_pairs("0612345678") == "06 12 34 56 78"
    assert spell_pairs("12345") == "1 23 45"


@pytest.mark.parametrize("said", ["je voudrais un rendez-vous", "une personne s'il vous plaît",
                                  "j'ai un numéro client"])
def test_the_article_un_is_not_the_number_one(said: str) -> None:
    assert find_digits(words(said)) is None


def test_un_among_numbers_is_one() -> None:
    assert find_digits(words("un, deux, trois")) == "123"
    assert find_digits(words("zéro un quarante-cinq")) == "0145"
    assert find_number(words("vingt et un")) == 21
