"""The questionnaire: which questions a person answers, and which they are asked.

A questionnaire is a list of steps. A *single* step is one question everybody
answers; a *group* step lets the person pick ``pick`` questions of those
listed. An enrollment therefore holds every single plus ``pick`` answers from
each group, in the order of the steps.

At verification everybody is asked a set of today's shape (``challenge``):
each single step's question, then ``pick`` of each group, in configured order,
with today's wording (ids are stable, texts may be edited). An enrolled person
is asked their own questions where they fit today's steps; a slot their
enrollment cannot fill (a question added since they enrolled, a group that
now asks for more) is filled like a decoy and its answer is not compared.
Someone unknown, not enrolled or not eligible is asked ``decoys``: all slots
filled that way, always the same for the same subject, unpredictable without
the site secret. So the number and kind of questions asked never tells an
enrolled person from anybody else, before or after the questionnaire changes
(asking decoys in the shape of older questionnaires instead would need a
record of every past shape, and the mix of shapes among enrolled people would
still tell them apart).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from kiosk.backend.answers import MAX_ANSWER_CHARS, normalise
from kiosk.backend.errors import AnswerRejected
from kiosk.backend.model import Enrollment, Question
from kiosk.config import QuestionsSettings
from kiosk.config.schema import language_text, language_translations

__all__ = [
    "Challenge",
    "GroupStep",
    "Questionnaire",
    "SingleStep",
    "Step",
    "check_answer",
]


@dataclass(frozen=True)
class SingleStep:
    question: Question


@dataclass(frozen=True)
class GroupStep:
    title: str
    pick: int
    choices: tuple[Question, ...]
    #: The title in other languages: (language code, text) pairs.
    translations: tuple[tuple[str, str], ...] = ()


Step = SingleStep | GroupStep


@dataclass(frozen=True)
class Challenge:
    """What to ask, and whether an enrollment can be verified by it.

    ``own`` holds the ids among ``questions`` that the enrollment answered (the
    only ones compared); the others fill today's shape.
    """

    questions: tuple[Question, ...]
    own: frozenset[str] = frozenset()
    verifiable: bool = False


@dataclass(frozen=True)
class Questionnaire:
    steps: tuple[Step, ...]
    questions: Mapping[str, Question]
    min_remaining_to_verify: int = 0

    @classmethod
    def from_settings(cls, settings: QuestionsSettings) -> Questionnaire:
        questions = {
            q.id: Question(
                id=q.id,
                text=language_text(q.text),
                min_length=q.min_length,
                max_length=q.max_length,
                case_sensitive=q.case_sensitive,
                translations=language_translations(q.text),
            )
            for q in settings.questions
        }
        steps: list[Step] = []
        for step in settings.questionnaire:
            if step.question is not None:
                steps.append(SingleStep(questions[step.question]))
            else:
                assert step.group is not None
                steps.append(
                    GroupStep(
                        title=step.group,
                        pick=step.pick,
                        choices=tuple(questions[i] for i in step.choose_from),
                        translations=tuple(step.title.items()),
                    )
                )
        return cls(
            steps=tuple(steps),
            questions=MappingProxyType(questions),
            min_remaining_to_verify=settings.min_remaining_to_verify,
        )

    # --- shape ---------------------------------------------------------------

    @property
    def answers_needed(self) -> int:
        return sum(1 if isinstance(s, SingleStep) else s.pick for s in self.steps)

    def _order(self) -> dict[str, int]:
        """Position of each configured question: questionnaire order first,
        then questions that are configured but in no step, as listed."""
        order: dict[str, int] = {}
        for step in self.steps:
            for q in (step.question,) if isinstance(step, SingleStep) else step.choices:
                order.setdefault(q.id, len(order))
        for qid in self.questions:
            order.setdefault(qid, len(order))
        return order

    def validate_selection(self, question_ids: Sequence[str]) -> None:
        """Raise AnswerRejected unless ``question_ids`` fit the steps in order:
        each single's question, then each group's ``pick`` questions (any order
        within the group), no question twice."""
        ids = list(question_ids)
        if len(set(ids)) != len(ids):
            raise _rejected("Choose each question only once.", "answer.choose_once")
        position = 0
        for step in self.steps:
            if isinstance(step, SingleStep):
                if position >= len(ids) or ids[position] != step.question.id:
                    raise _rejected("Answer every question.", "answer.every_question")
                position += 1
                continue
            chosen = ids[position : position + step.pick]
            allowed = {q.id for q in step.choices}
            if len(chosen) != step.pick or not all(i in allowed for i in chosen):
                raise _choose_rejected(step)
            position += step.pick
        if position != len(ids):
            raise _rejected(
                f"Answer exactly {self.answers_needed} questions.", "answer.exactly", count=self.answers_needed
            )

    def _fits(self, question_ids: Sequence[str]) -> bool:
        """The ids make a complete enrollment for today's steps, in any order."""
        ids = list(question_ids)
        if len(set(ids)) != len(ids) or len(ids) != self.answers_needed:
            return False
        remaining = set(ids)
        for step in self.steps:
            if isinstance(step, SingleStep):
                if step.question.id not in remaining:
                    return False
                remaining.discard(step.question.id)
            else:
                picked = remaining & {q.id for q in step.choices}
                if len(picked) != step.pick:
                    return False
                remaining -= picked
        return not remaining

    # --- verification ----------------------------------------------------------

    def challenge(self, key: bytes, subject: str, enrollment: Enrollment | None) -> Challenge:
        """Today's shape for everyone: the enrollment's own questions where they
        fit a step, decoys (``key``, ``subject``) in the slots it cannot fill.

        ``verifiable`` follows ``min_remaining_to_verify``: with 0 every
        enrolled question must still be asked; otherwise at least that many
        (or all, if fewer were enrolled). An enrolled question that is in no
        step any more, or beyond a group's ``pick``, is not asked.
        """
        enrolled = list(dict.fromkeys(a.question_id for a in enrollment.answers)) if enrollment else []
        questions, own = self._shaped(key, subject, enrolled)
        if self.min_remaining_to_verify == 0:
            needed = len(enrolled)
        else:
            needed = min(self.min_remaining_to_verify, len(enrolled))
        verifiable = bool(enrolled) and len(own) >= needed
        return Challenge(questions, frozenset(own) if verifiable else frozenset(), verifiable)

    def challenge_for(self, enrollment: Enrollment) -> tuple[Question, ...] | None:
        """The enrolled questions that would be asked (and compared), in
        configured order, with their current wording; None if too few remain to
        verify (see ``challenge``)."""
        found = self.challenge(b"", "", enrollment)
        if not found.verifiable:
            return None
        return tuple(q for q in found.questions if q.id in found.own)

    def _shaped(self, key: bytes, subject: str, enrolled: Sequence[str]) -> tuple[tuple[Question, ...], list[str]]:
        """(today's shape filled with ``enrolled`` first, then decoys; the
        enrolled ids used)."""
        mine = set(enrolled)
        chosen: list[Question] = []
        own: list[str] = []
        for index, step in enumerate(self.steps):
            if isinstance(step, SingleStep):
                chosen.append(step.question)
                if step.question.id in mine:
                    own.append(step.question.id)
                continue
            kept = [q.id for q in step.choices if q.id in mine][: step.pick]
            others = [q.id for q in step.choices if q.id not in mine]
            rank = {qid: self._rank(key, subject, index, qid) for qid in others}
            picked = set(kept) | set(sorted(others, key=rank.__getitem__)[: step.pick - len(kept)])
            chosen.extend(q for q in step.choices if q.id in picked)
            own.extend(kept)
        return tuple(chosen), own

    @staticmethod
    def _rank(key: bytes, subject: str, index: int, question_id: str) -> bytes:
        import hashlib  # here: a kiosk session decodes a Questionnaire, and needs no OpenSSL for it
        import hmac

        parts = [b"kiosk-decoy", subject.encode("utf-8", "surrogatepass"), str(index).encode(), question_id.encode()]
        return hmac.new(key, b"\x00".join(parts), hashlib.sha256).digest()

    def needs_reenrollment(self, enrollment: Enrollment) -> bool:
        """True if an enrolled question was removed or the questionnaire's shape
        changed, so the person should enroll again after their next visit."""
        ids = [a.question_id for a in enrollment.answers]
        if any(i not in self.questions for i in ids):
            return True
        return not self._fits(ids)

    def decoys(self, key: bytes, subject: str) -> tuple[Question, ...]:
        """Questions to ask someone with nothing enrolled (or unknown).

        Today's shape (each single, then ``pick`` of each group, in configured
        order), the same for the same ``key`` and ``subject`` (an objectGUID,
        or ``identity.name_key`` of a typed name: already normalised and
        keyed), chosen by HMAC-SHA256 so that without the key nobody can tell
        decoys from a real person's questions.
        """
        return self._shaped(key, subject, ())[0]


def _rejected(reason: str, message_key: str, **values: str | int) -> AnswerRejected:
    """The refusal in English (``reason``) and as a message of the kiosk's, so
    the person reads it in their language."""
    return AnswerRejected(reason, message_key, values)


def _choose_rejected(step: GroupStep) -> AnswerRejected:
    if step.pick == 1:
        return _rejected(f"Choose one question from “{step.title}”.", "answer.choose_one", group=step.title)
    return _rejected(
        f"Choose {step.pick} questions from “{step.title}”.", "answer.choose_some", count=step.pick, group=step.title
    )


# --- enrollment rules -----------------------------------------------------------


#: Non-answers: what people type when they do not want to answer. Compared by
#: their letters and digits only ("N/A", "n.a." and "na" are one). Kept small
#: on purpose: a real answer ("none" to "your middle name") is still refused,
#: but the person is told why and can write it out.
NON_ANSWERS = frozenset(
    """
    na nope none nothing null nil no yes ok okay unknown dunno idk idc dontknow idontknow
    notknown noidea notapplicable notsure nosuch pass password secret answer test testing
    abc abcd abcdef asdf asdfgh qwerty qwertz azerty xxx xyz same whatever blank empty
    question skip
    """.split()
)


def _non_answer(letters: str) -> bool:
    """A non-answer, one character over and over ("aaa", "0000"), or a run
    of consecutive digits ("123", "9876")."""
    if letters in NON_ANSWERS or (letters and len(set(letters)) == 1):
        return True
    if letters.isdecimal() and len(letters) >= 2:
        steps = {int(b) - int(a) for a, b in zip(letters, letters[1:])}
        return steps in ({1}, {-1})
    return False


def _letters(text: str) -> str:
    """Only letters and digits, folded: how we tell "the question, again"."""
    return "".join(c for c in normalise(text) if c.isalnum())


def check_answer(
    question: Question,
    answer: str,
    *,
    earlier_answers: Sequence[str] = (),
    account_names: Sequence[str] = (),
) -> None:
    """Raise AnswerRejected, in plain words, if ``answer`` may not be enrolled.

    Compares normalised forms only; no guessing about overlapping words (a
    "bicycle" is a fine answer to "your favourite vehicle").
    """
    if len(answer) > MAX_ANSWER_CHARS:
        raise _too_long(question)
    value = normalise(answer, case_sensitive=question.case_sensitive)
    if len(value) > question.max_length:
        raise _too_long(question)
    if len(value) < question.min_length:
        if question.min_length == 1:
            raise _rejected("Your answer must be at least 1 character.", "answer.too_short_one")
        raise _rejected(
            f"Your answer must be at least {question.min_length} characters.",
            "answer.too_short",
            count=question.min_length,
        )
    folded = normalise(answer)
    letters = _letters(answer)
    if _non_answer(letters):
        raise _rejected(
            "That answer is one anybody could guess. Please give the real answer, one only you would know.",
            "answer.guessable",
        )
    wordings = (question.text, *(words for _, words in question.translations))
    if letters and any(letters == _letters(words) for words in wordings):
        raise _rejected("Your answer must not repeat the question.", "answer.repeats_question")
    if folded in _name_forms(account_names):
        raise _rejected("Your answer must not be your user name.", "answer.user_name")
    if any(folded == normalise(earlier) for earlier in earlier_answers):
        raise _rejected("Use a different answer for each question.", "answer.same_twice")


def _name_forms(account_names: Sequence[str]) -> set[str]:
    """Each name as given, and DOMAIN\\sam and sam@dns without the domain."""
    forms: set[str] = set()
    for name in account_names:
        for form in (name, name.rpartition("\\")[2], name.partition("@")[0]):
            if form.strip():
                forms.add(normalise(form))
    return forms


def _too_long(question: Question) -> AnswerRejected:
    return _rejected(
        f"Your answer is too long (at most {question.max_length} characters).",
        "answer.too_long",
        count=question.max_length,
    )
