"""Answers: how they are normalised, hashed and verified."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.backend.answers import MAX_ANSWER_CHARS, AnswerHasher, normalise
from kiosk.backend.model import Question
from kiosk.config import AnswerHashSettings

CHEAP = AnswerHashSettings(time_cost=1, memory_cost_kib=8, parallelism=1)
PET = Question(id="first-pet", text="What was the name of your first pet?")
CODE = Question(id="code", text="Your secret code word?", case_sensitive=True)


@pytest.fixture(scope="module")
def hasher() -> AnswerHasher:
    return AnswerHasher(CHEAP)


# --- normalisation ------------------------------------------------------------


def test_case_does_not_matter_by_default():
    assert normalise("Rex") == normalise("REX") == normalise("rex") == "rex"


def test_composed_and_decomposed_accents_are_the_same_answer():
    composed = "Zo\u00eb"
    decomposed = "Zoe\u0308"
    assert composed != decomposed
    assert normalise(composed) == normalise(decomposed)


def test_full_width_characters_are_ordinary_characters():
    assert normalise("ＲＥＸ　１２") == "rex 12"


def test_spaces_around_and_inside_do_not_matter():
    assert normalise("  New \t  York\n") == "new york"
    assert normalise("\u00a0New\u2003York\u00a0") == "new york"


def test_german_sharp_s_folds_like_ss():
    assert normalise("Straße") == normalise("STRASSE")


def test_a_case_sensitive_question_keeps_case_but_still_normalises_the_rest():
    assert normalise("  ＡbC  d ", case_sensitive=True) == "AbC d"
    assert normalise("ABC", case_sensitive=True) != normalise("abc", case_sensitive=True)


@given(st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_normalising_twice_changes_nothing(text):
    once = normalise(text)
    assert normalise(once) == once
    assert normalise(normalise(text, case_sensitive=True), case_sensitive=True) == normalise(
        text, case_sensitive=True
    )


# --- hashing ----------------------------------------------------------------------


def test_a_hash_is_argon2id_with_the_configured_parameters(hasher):
    stored = hasher.hash(PET, "Rex")
    assert stored.startswith("n2$argon2id$v=19$m=8,t=1,p=1$")  # n2: the normalisation it was made with


def test_the_same_answer_hashes_differently_each_time(hasher):
    assert hasher.hash(PET, "Rex") != hasher.hash(PET, "Rex")


def test_the_right_answer_verifies_whatever_its_case_and_spacing(hasher):
    stored = hasher.hash(PET, "Mister Rex")
    assert hasher.verify(PET, stored, "mister rex")
    assert hasher.verify(PET, stored, "  MISTER   REX ")
    assert hasher.verify(PET, stored, "ＭＩＳＴＥＲ ＲＥＸ")


def test_a_wrong_answer_does_not_verify(hasher):
    stored = hasher.hash(PET, "Rex")
    assert not hasher.verify(PET, stored, "Max")
    assert not hasher.verify(PET, stored, "")


def test_case_sensitive_questions_need_the_exact_case(hasher):
    stored = hasher.hash(CODE, "BlueFox")
    assert hasher.verify(CODE, stored, " BlueFox ")
    assert not hasher.verify(CODE, stored, "bluefox")


@pytest.mark.parametrize(
    "broken",
    ["", "not a hash", "$argon2id$v=19$m=8,t=1,p=1$xx$yy", "$bcrypt$whatever", "$argon2id$"],
)
def test_a_malformed_stored_hash_is_a_mismatch_not_a_crash(hasher, broken):
    assert hasher.verify(PET, broken, "Rex") is False


def test_hashes_made_with_old_parameters_still_verify_and_ask_to_be_rehashed(hasher):
    old = AnswerHasher(AnswerHashSettings(time_cost=2, memory_cost_kib=8, parallelism=1))
    stored = old.hash(PET, "Rex")
    assert hasher.verify(PET, stored, "Rex")
    assert hasher.needs_rehash(stored)
    assert not hasher.needs_rehash(hasher.hash(PET, "Rex"))


def test_an_unreadable_hash_needs_rehash(hasher):
    assert hasher.needs_rehash("garbage")


def test_decoy_verification_is_always_false(hasher):
    assert hasher.decoy_verify(PET, "Rex") is False
    assert hasher.decoy_verify(PET, "") is False


def test_decoy_verification_costs_about_what_a_real_verification_costs(hasher):
    heavier = AnswerHasher(AnswerHashSettings(time_cost=4, memory_cost_kib=4096, parallelism=1))
    stored = heavier.hash(PET, "Rex")

    def median(fn) -> float:
        times = []
        for _ in range(9):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return sorted(times)[4]

    real = median(lambda: heavier.verify(PET, stored, "wrong"))
    decoy = median(lambda: heavier.decoy_verify(PET, "wrong"))
    assert 0.5 < decoy / real < 2.0  # loose: CI machines are noisy; bench/verify_timing.py measures


def test_a_ten_megabyte_answer_costs_no_more_than_a_short_one(hasher):
    huge = "x" * (10 * 1024 * 1024)
    start = time.perf_counter()
    stored = hasher.hash(PET, huge)
    assert hasher.verify(PET, stored, huge)
    assert time.perf_counter() - start < 1.0
    # Only the first MAX_ANSWER_CHARS count.
    assert hasher.verify(PET, stored, "x" * MAX_ANSWER_CHARS)
    assert len(normalise(huge)) == MAX_ANSWER_CHARS


def test_default_parameters_are_rfc_9106_low_memory():
    default = AnswerHasher(AnswerHashSettings())
    stored = default.hash(PET, "Rex")
    assert stored.startswith("n2$argon2id$v=19$m=65536,t=3,p=4$")
    assert default.verify(PET, stored, "REX")
    assert not default.needs_rehash(stored)
