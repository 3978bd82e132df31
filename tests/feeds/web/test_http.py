"""Raw UTF-8 in a request line, as some clients send a typed URL, reaches the application decoded."""

from __future__ import annotations

import socket

from feeds.http import percent_encode_targets


def test_request_targets_are_percent_encoded_and_nothing_else_is_touched() -> None:
    raw = "GET /all.xml?q=检察 HTTP/1.1\r\nHost: x\r\nUser-Agent: 阅读器\r\n\r\n".encode()
    fixed = percent_encode_targets(raw)
    assert fixed.startswith(b"GET /all.xml?q=%E6%A3%80%E5%AF%9F HTTP/1.1\r\n")
    assert "User-Agent: 阅读器".encode() in fixed  # header values are the parser's business
    ascii_only = b"GET /all.xml?q=%E6%A3%80 HTTP/1.1\r\nHost: x\r\n\r\n"
    assert percent_encode_targets(ascii_only) is ascii_only


def _raw_get(base: str, target: str) -> tuple[int, bytes]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_the_server_answers_a_raw_utf8_query_like_its_encoded_twin(served: str) -> None:
    raw_status, raw_body = _raw_get(served, "/all.xml?q=检察护企")
    encoded_status, encoded_body = _raw_get(served, "/all.xml?q=%E6%A3%80%E5%AF%9F%E6%8A%A4%E4%BC%81")
    assert raw_status == encoded_status == 200 and raw_body == encoded_body and "检察护企".encode() in raw_body
    assert _raw_get(served, "/articles?source=不存在")[0] == 400  # decoded, then checked like any filter
