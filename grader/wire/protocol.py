"""The judge's frame protocol: length-prefixed frames over pipes, the same at both ends.

A frame is an 8-byte little-endian unsigned length (:data:`HEADER`) followed by that many bytes
of payload (a ``grader.wire.codec.pack`` payload: a dict whose ``"kind"`` is one of
:class:`Kind`). Frames travel on three pipes: the grader's request to the runner (stdin), a
child's frames to the runner (a fork-mode pipe, or a spawned child's stdout), and the runner's
frames to the grader (stdout).

Both ends run this module: the grader (``grader.judge.dispatch``) and the sandboxed runner
(``grader.judge.runner``), which may import only the standard library, numpy and
``grader.wire``: so this module imports nothing else. ``selectors`` (POSIX pipes) is imported
only by :class:`SelectReader`, when it is used.

Readers trust nothing: a frame whose header announces more than ``max_frame`` bytes stops the
stream (:class:`FrameTooLarge`), and every wait has a deadline.
"""

from __future__ import annotations

import abc
import contextlib
import os
import queue
import struct
import threading
import time
from typing import IO, BinaryIO, Final

#: The frame header: the payload's length in bytes.
HEADER: Final = struct.Struct("<Q")
#: The most bytes read from a pipe at once.
CHUNK: Final = 1 << 20


class Kind:
    """The ``"kind"`` of a frame's dict. Plain ``str`` values: the codec packs them as they are."""

    #: runner -> grader: the exercise's code ran and its function exists (``setup_errors``)
    READY: Final = "ready"
    #: runner -> grader: the code ran but defines no callable of the exercise's name (``type``)
    UNDEFINED: Final = "undefined"
    #: runner -> grader: one case's call (``id``, ``status``, ``output``, ``inputs_after``, …)
    CASE: Final = "case"
    #: runner -> grader: how an exercise's child ended (``name``, ``timeout``, ``overflow``, …)
    END: Final = "end"
    #: runner -> grader: every exercise is done
    DONE: Final = "done"
    #: runner -> grader, spawn mode: an exercise process started (``pid``), before any code runs
    SPAWNED: Final = "spawned"
    #: spawned child -> runner only: it has its exercise; the per-call deadline starts now
    STARTED: Final = "started"


class FrameTooLarge(ValueError):
    """A frame's header announced more than the reader's ``max_frame`` bytes."""


# --------------------------------------------------------------------------- writing


def encode_frame(payload: bytes) -> bytes:
    """``payload`` with its header."""
    return HEADER.pack(len(payload)) + payload


def write_frame(fd: int, payload: bytes) -> None:
    """Write one frame to file descriptor ``fd`` (all of it: ``os.write`` may write less)."""
    view = memoryview(encode_frame(payload))
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_exact(stream: BinaryIO, n: int) -> bytes:
    """Exactly ``n`` bytes of ``stream``; ``EOFError`` when it ends first."""
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def read_frame(stream: BinaryIO) -> bytes:
    """The payload of the next frame of a blocking ``stream`` (no size cap: trusted senders only,
    the grader's request and the runner's exercise); ``EOFError`` when it ends first."""
    (n,) = HEADER.unpack(read_exact(stream, HEADER.size))
    return read_exact(stream, n)


# --------------------------------------------------------------------------- parsing


class FrameParser:
    """Incremental parsing: :meth:`feed` bytes as they arrive, :meth:`pop` complete frames."""

    def __init__(self, max_frame: int) -> None:
        self.max_frame = max_frame
        self.buf = bytearray()

    def feed(self, data: bytes) -> None:
        self.buf += data

    def pop(self) -> bytes | None:
        """The next complete frame's payload; None until it is complete.

        Raises :class:`FrameTooLarge` when the next header announces more than ``max_frame``
        bytes (the header stays buffered: every later call raises again).
        """
        if len(self.buf) < HEADER.size:
            return None
        (n,) = HEADER.unpack_from(self.buf)
        if n > self.max_frame:
            raise FrameTooLarge(f"a frame of {n} bytes, more than {self.max_frame}")
        if len(self.buf) < HEADER.size + n:
            return None
        frame = bytes(self.buf[HEADER.size : HEADER.size + n])
        del self.buf[: HEADER.size + n]
        return frame


# --------------------------------------------------------------------------- reading pipes


class FrameReader(abc.ABC):
    """Frames out of a pipe, with a deadline and a size cap.

    :meth:`next` returns the next frame, or None when there is none to come: then
    ``timed_out`` (the deadline passed), ``eof`` (the pipe ended) or ``overflow`` (a frame
    larger than ``max_frame`` was announced) says why. Subclasses say how the next chunk
    arrives (:meth:`_read`).
    """

    def __init__(self, max_frame: int) -> None:
        self.parser = FrameParser(max_frame)
        self.timed_out = False
        self.eof = False
        self.overflow = False

    @property
    def buf(self) -> bytearray:
        """Bytes received and not yet returned as frames."""
        return self.parser.buf

    @abc.abstractmethod
    def _read(self, timeout: float) -> bytes | None:
        """The next chunk: ``b""`` at end of file, None when nothing came within ``timeout``."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release what the reader holds (the pipe itself: see the subclass)."""

    def next(self, deadline: float) -> bytes | None:
        """The next frame, waiting until ``deadline`` (``time.monotonic()``) at most."""
        while True:
            try:
                frame = self.parser.pop()
            except FrameTooLarge:
                self.overflow = True
                return None
            if frame is not None:
                return frame
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.timed_out = True
                return None
            data = self._read(remaining)
            if data is None:
                continue
            if not data:
                self.eof = True
            self.parser.feed(data)


class SelectReader(FrameReader):
    """Frames from a pipe's file descriptor, waited for with ``selectors`` (POSIX pipes).

    The caller keeps the descriptor (and closes it); :meth:`close` closes the selector only.
    """

    def __init__(self, fd: int, max_frame: int) -> None:
        import selectors  # not on the spawn path: ``select`` does not work on Windows pipes

        super().__init__(max_frame)
        self.fd = fd
        self.sel = selectors.DefaultSelector()
        self.sel.register(fd, selectors.EVENT_READ)

    def _read(self, timeout: float) -> bytes | None:
        if not self.sel.select(timeout):
            return None
        return os.read(self.fd, CHUNK)

    def close(self) -> None:
        self.sel.close()


class ThreadReader(FrameReader):
    """The same contract as :class:`SelectReader`, without ``select``: a thread reads the pipe.

    ``select``/``selectors`` do not work on pipes on Windows. The thread hands over chunks
    through a queue of at most ``chunks`` chunks (a writer that floods waits, as it would on a
    full pipe); the caller waits in short slices, so Ctrl-C is never held up for long.

    The thread closes ``stream`` itself, at its end: closed by another thread while this one
    still reads, its fd number could be reused for another file. (A forked daemon holding the
    write end keeps it open: then the thread lives until the process exits.)
    """

    SLICE = 0.25

    def __init__(self, stream: IO[bytes], max_frame: int, *, chunks: int = 64) -> None:
        super().__init__(max_frame)
        self._chunks: queue.Queue[bytes] = queue.Queue(maxsize=chunks)
        self._closed = threading.Event()
        self._stream = stream
        self._thread = threading.Thread(target=self._pump, name="rnn-grader-frames", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        fd = self._stream.fileno()
        while True:
            try:
                data = os.read(fd, CHUNK)
            except OSError:
                data = b""
            if not data:
                self._stream.close()
            while not self._closed.is_set():  # once closed: read on, discard, until the end
                try:
                    self._chunks.put(data, timeout=self.SLICE)
                    break
                except queue.Full:
                    continue
            if not data:
                return

    def close(self) -> None:
        """Stop handing over chunks (the thread closes the pipe when it reaches its end)."""
        self._closed.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self._chunks.get_nowait()

    def _read(self, timeout: float) -> bytes | None:
        try:
            return self._chunks.get(timeout=min(timeout, self.SLICE))
        except queue.Empty:
            return None
