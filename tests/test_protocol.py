"""grader.wire.protocol: the frame format both ends of the judge share."""

from __future__ import annotations

import io
import os
import time

import pytest

from grader.wire.protocol import (
    HEADER,
    FrameParser,
    FrameTooLarge,
    SelectReader,
    ThreadReader,
    encode_frame,
    read_frame,
    write_frame,
)


def test_parser_takes_frames_split_anywhere() -> None:
    data = b"".join(encode_frame(p) for p in (b"a", b"", b"xyz" * 100))
    parser = FrameParser(max_frame=1 << 10)
    got = []
    for i in range(len(data)):
        parser.feed(data[i : i + 1])
        while (frame := parser.pop()) is not None:
            got.append(frame)
    assert got == [b"a", b"", b"xyz" * 100] and not parser.buf


def test_parser_refuses_an_oversized_frame_until_it_is_gone() -> None:
    parser = FrameParser(max_frame=4)
    parser.feed(encode_frame(b"1234") + HEADER.pack(5) + b"12345")
    assert parser.pop() == b"1234"
    for _ in range(2):  # the header stays: every later call refuses again
        with pytest.raises(FrameTooLarge):
            parser.pop()


def test_read_frame_reads_exactly_one() -> None:
    stream = io.BytesIO(encode_frame(b"one") + encode_frame(b"two") + HEADER.pack(9) + b"short")
    assert read_frame(stream) == b"one" and read_frame(stream) == b"two"
    with pytest.raises(EOFError):
        read_frame(stream)


@pytest.mark.parametrize("kind", ["select", "thread"])
def test_readers_say_why_the_frames_stopped(kind: str) -> None:
    rfd, wfd = os.pipe()
    stream = os.fdopen(rfd, "rb")
    reader = SelectReader(rfd, 8) if kind == "select" else ThreadReader(stream, 8)
    try:
        write_frame(wfd, b"12345678")
        assert reader.next(time.monotonic() + 10) == b"12345678"
        assert reader.next(time.monotonic() + 0.1) is None and reader.timed_out
        reader.timed_out = False
        os.write(wfd, HEADER.pack(9))
        assert reader.next(time.monotonic() + 10) is None and reader.overflow
        assert not reader.timed_out and not reader.eof
        reader.overflow = False
        reader.buf.clear()
        os.close(wfd)
        assert reader.next(time.monotonic() + 10) is None and reader.eof
    finally:
        reader.close()
        if kind == "select":
            stream.close()
