"""Enrollment: one step at a time, one answer per step, typed twice.

A questionnaire step is either a single question (``step.question``) or a group
(``step.title``, ``step.pick``, ``step.choices``) from which the person picks
``pick`` questions; a group becomes ``pick`` steps here, and a question picked
in an earlier step of the same group is no longer offered. Each answer is
checked at once with ``check_answer`` (fast, no hashing: the rules live in the
backend, the screen only shows its words). The answers stay in this screen
until the last step hands them on, and are wiped on Back/idle/Done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widgets import Select, Static

from kiosk.messages import error_text, group_title, question_text, text
from kiosk.screens.base import KioskScreen
from kiosk.widgets.question_picker import QuestionPicker
from kiosk.widgets.secret_input import ANSWER_MAX, SecretInput

if TYPE_CHECKING:
    from kiosk.backend.model import Question
    from typing_extensions import TypeIs

    from kiosk.backend.questions import GroupStep, Questionnaire, Step


def is_group(step: Step) -> TypeIs[GroupStep]:
    """A "pick N of these" step. By shape: the backend's questions module is not
    loaded before the first frame, so no isinstance here."""
    return getattr(step, "choices", None) is not None


def expand_steps(questionnaire: Questionnaire) -> list[Step]:
    """One entry per answer: a single step once, a group step ``pick`` times."""
    slots: list[Step] = []
    for step in questionnaire.steps:
        if is_group(step):
            slots.extend([step] * int(step.pick))
        else:
            slots.append(step)
    return slots


class EnrollQuestionsScreen(KioskScreen):
    DEFAULT_CSS = """
    EnrollQuestionsScreen #picker { width: 70; }
    /* The chosen question stays on one line of the field, cut with an ellipsis
       where a translation is longer (the list below shows it whole). */
    EnrollQuestionsScreen #picker SelectCurrent #label { text-wrap: nowrap; text-overflow: ellipsis; }
    EnrollQuestionsScreen #question { height: auto; margin: 1 0 0 0; text-style: bold; }
    """

    def __init__(
        self,
        questionnaire: Questionnaire,
        check: Callable[[str, str, Sequence[str]], BaseException | None],
        on_done: Callable[[list[tuple[str, str, str]]], None],
    ) -> None:
        """``check(question_id, answer, earlier)``: the refusal in words, or None;
        ``on_done``: every (question id, question text, answer), once."""
        super().__init__()
        self._check = check
        self._on_done = on_done
        self._slots = expand_steps(questionnaire)
        self._index = 0
        # (question_id, question text, answer): secret, kept only until the review
        self._answers: list[tuple[str, str, str]] = []

    def screen_title(self) -> str:
        return text("enroll.title", number=1, total=len(self._slots))

    def compose_form(self) -> ComposeResult:
        yield Static("", id="group", classes="label", markup=False)
        yield QuestionPicker([], id="picker", prompt=text("enroll.pick_prompt"))
        yield Static("", id="question", markup=False)
        yield Static(text("enroll.answer"), classes="label", markup=False)
        yield SecretInput(id="answer", max_length=ANSWER_MAX)
        yield Static(text("enroll.confirm"), classes="label", markup=False)
        yield SecretInput(id="confirm", max_length=ANSWER_MAX)
        yield Static(text("enroll.hint"), classes="hint", markup=False)

    def on_mount(self) -> None:
        self._show_step()

    # --- steps ---------------------------------------------------------------------

    def _step(self) -> Step:
        return self._slots[self._index]


    def _show_step(self) -> None:
        step = self._step()
        self.query_one("#title", Static).update(
            text("enroll.title", number=self._index + 1, total=len(self._slots))
        )
        group = self.query_one("#group", Static)
        picker = self.query_one("#picker", Select)
        question = self.query_one("#question", Static)
        if is_group(step):
            taken = {qid for qid, _, _ in self._answers}
            picker.set_options([(question_text(q), q.id) for q in step.choices if q.id not in taken])
            picker.clear()
            group.update(text("enroll.group", title=group_title(step)))
            group.display = picker.display = True
            question.display = False
            self.set_focus(picker)
        else:
            question.update(question_text(step.question))
            group.display = picker.display = False
            question.display = True
            self.set_focus(self.query_one("#answer", SecretInput))

    def _current_question(self) -> Question | None:
        step = self._step()
        if not is_group(step):
            return step.question
        value = self.query_one("#picker", Select).value
        if value is Select.NULL:
            return None
        return next((q for q in step.choices if q.id == value), None)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and self.focused is event.select:
            self.set_focus(self.query_one("#answer", SecretInput))

    # --- submit --------------------------------------------------------------------

    def submit(self) -> None:
        question = self._current_question()
        answer_field = self.query_one("#answer", SecretInput)
        confirm_field = self.query_one("#confirm", SecretInput)
        if question is None:
            self.say(text("enroll.no_question"))
            self.set_focus(self.query_one("#picker", Select))
            return
        answer, confirm = answer_field.take(), confirm_field.take()
        if not answer:
            self.say(text("enroll.empty"))
            self.set_focus(answer_field)
            return
        if answer != confirm:
            self.say(text("enroll.mismatch"))
            self.set_focus(answer_field)
            return
        del confirm
        refusal = self._check(question.id, answer, [a for _, _, a in self._answers])
        if refusal is not None:
            self.say(error_text(refusal))
            self.set_focus(answer_field)
            return
        self.say("")
        self._answers.append((question.id, question_text(question), answer))
        del answer
        if self._index + 1 < len(self._slots):
            self._index += 1
            self._show_step()
            return
        answers, self._answers = self._answers, []
        self._index = 0
        self._show_step()
        self._on_done(answers)

    def action_back(self) -> None:
        if self._index == 0:
            super().action_back()
            return
        KioskScreen.wipe(self)  # the fields only; earlier answers stay
        self._answers.pop()
        self._index -= 1
        self.say("")
        self._show_step()

    def wipe(self) -> None:
        super().wipe()
        self._answers.clear()

    def answers_given(self) -> Sequence[str]:
        """Question ids answered so far (for tests); never the answers."""
        return [qid for qid, _, _ in self._answers]
