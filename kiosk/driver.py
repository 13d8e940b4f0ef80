"""Textual's Linux driver, with an input thread that sleeps while nobody types.

Textual's input thread wakes ten times a second to ask its key parser
whether a lone Esc has waited long enough to be a key. That is nearly all an
idle Textual app's CPU (about 1.5 ms/s here), and a host holding 300 idle
kiosk sessions spent a third of a core on it, in the way of the unlocks
(bench/capacity.py). ``KioskDriver`` waits on the terminal with no timeout
unless the parser is holding such a key (then Textual's 0.1 s, as before),
and ``disable_input`` wakes it through a pipe instead of waiting for its
next tick. And a terminal that hung up (end of file, EIO) ends the thread
and hangs the app up (SIGHUP), where Textual's loop would read end of file
forever and keep the interpreter from exiting (an orphan spinning on a
core after SSH went away mid-frame). Everything else is Textual's: the loop below is
``LinuxDriver.run_input_thread`` of the pinned Textual (pyproject.toml) with
only the wait changed; tests/e2e/test_driver_idle.py holds it to both.
"""

from __future__ import annotations

import os
import selectors
import signal
from codecs import getincrementaldecoder

from textual._loop import loop_last
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

#: How often the parser is asked while it holds a possible Esc (Textual's own tick).
PENDING_TICK = 0.1


class KioskDriver(LinuxDriver):
    _wake_write = -1

    def disable_input(self) -> None:
        # The byte stays unread: the input thread sees it on every wait until
        # it notices exit_event (set just after, in LinuxDriver.disable_input).
        if self._wake_write >= 0:
            try:
                os.write(self._wake_write, b"x")
            except OSError:
                pass
        super().disable_input()

    def run_input_thread(self) -> None:
        """Wait for input and dispatch events (Textual's loop, its wait changed)."""
        wake_read, self._wake_write = os.pipe()
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(wake_read, selectors.EVENT_READ)

        fileno = self.fileno
        EVENT_READ = selectors.EVENT_READ

        parser = XTermParser(self._debug)
        feed = parser.feed
        tick = parser.tick

        utf8_decoder = getincrementaldecoder("utf-8")().decode
        decode = utf8_decoder
        read = os.read

        hung_up = False

        def process_selector_events(
            selector_events: list[tuple[selectors.SelectorKey, int]],
            final: bool = False,
        ) -> None:
            nonlocal hung_up
            terminal = [(key, mask) for key, mask in selector_events if key.fd == fileno]
            for last, (_selector_key, mask) in loop_last(terminal):
                if mask & EVENT_READ:
                    try:
                        data = read(fileno, 1024 * 4)
                    except OSError:  # EIO: the terminal is gone
                        data = b""
                    if not data:
                        # End of file on a terminal: it hung up (SSH gone). Reading
                        # again would return at once, forever.
                        hung_up = True
                        break
                    unicode_data = decode(data, final=final and last)
                    if not unicode_data:
                        break
                    for event in feed(unicode_data):
                        self.process_message(event)
            for event in tick():
                self.process_message(event)

        def wait() -> float | None:
            # The parser's deadline for a key it holds (an Esc that may start a sequence).
            return None if parser._timeout_time is None else PENDING_TICK

        try:
            while not self.exit_event.is_set() and not hung_up:
                process_selector_events(selector.select(wait()))
            if hung_up:
                # As the kernel says it to the session: the kiosk wipes and
                # leaves (lockdown's handler), or SIGHUP ends it. This thread
                # ends here, so the interpreter's exit does not wait on it.
                os.kill(os.getpid(), signal.SIGHUP)
                return
            selector.unregister(self.fileno)
            process_selector_events(selector.select(0.1), final=True)

        finally:
            selector.close()
            write_end, self._wake_write = self._wake_write, -1
            for fd in (wake_read, write_end):
                os.close(fd)
            try:
                for event in feed(""):
                    pass
            except (EOFError, ParseError):
                pass
