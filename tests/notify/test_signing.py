"""Webhook signatures, as a receiver checks them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from selpo.notify.signing import sign, verify_signature

SECRET = "whsec_test"
BODY = b'{"event_id":"e1","type":"shipment.created","created_at":"2026-11-25T09:00:00Z","data":{}}'
SENT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
T = int(SENT.timestamp())


class TestSign:
    def test_header_carries_the_time_and_the_hex_hmac(self) -> None:
        header = sign(SECRET, BODY, T)
        timestamp, v1 = header.split(",")
        assert timestamp == f"t={T}"
        assert v1.startswith("v1=")
        assert len(v1) == 3 + 64

    def test_a_known_vector(self) -> None:
        # printf '1.body' | openssl dgst -sha256 -hmac key
        expected = "t=1,v1=91b5374b153842ad05b2c4eab9349b8321b14703165bd3fb8b034dfb8be98ae5"
        assert sign("key", "body", 1) == expected
        assert sign("key", b"body", 1) == expected


class TestVerifySignature:
    def test_a_fresh_signature_verifies(self) -> None:
        assert verify_signature(SECRET, sign(SECRET, BODY, T), BODY, SENT)

    def test_now_may_be_unix_seconds(self) -> None:
        assert verify_signature(SECRET, sign(SECRET, BODY, T), BODY, T + 10.5)

    def test_str_and_bytes_bodies_agree(self) -> None:
        assert verify_signature(SECRET, sign(SECRET, BODY, T), BODY.decode(), SENT)

    def test_a_changed_body_fails(self) -> None:
        header = sign(SECRET, BODY, T)
        assert not verify_signature(SECRET, header, BODY.replace(b"e1", b"e2"), SENT)

    def test_another_secret_fails(self) -> None:
        assert not verify_signature("whsec_other", sign(SECRET, BODY, T), BODY, SENT)

    def test_a_changed_timestamp_fails(self) -> None:
        header = sign(SECRET, BODY, T).replace(f"t={T}", f"t={T + 1}")
        assert not verify_signature(SECRET, header, BODY, SENT)

    def test_outside_the_tolerance_fails_both_ways(self) -> None:
        header = sign(SECRET, BODY, T)
        assert verify_signature(SECRET, header, BODY, SENT + timedelta(seconds=300))
        assert not verify_signature(SECRET, header, BODY, SENT + timedelta(seconds=301))
        assert not verify_signature(SECRET, header, BODY, SENT - timedelta(seconds=301))
        assert verify_signature(SECRET, header, BODY, SENT + timedelta(hours=1), tolerance_s=3600)

    def test_any_of_several_v1_entries_may_match(self) -> None:
        header = sign(SECRET, BODY, T) + ",v1=" + "0" * 64
        rotated = f"t={T},v1={'0' * 64}," + sign(SECRET, BODY, T).split(",")[1]
        assert verify_signature(SECRET, header, BODY, SENT)
        assert verify_signature(SECRET, rotated, BODY, SENT)

    def test_malformed_headers_fail(self) -> None:
        v1 = sign(SECRET, BODY, T).split(",")[1]
        for header in ("", "garbage", v1, f"t={T}", f"t=abc,{v1}", f"t={T},v1="):
            assert not verify_signature(SECRET, header, BODY, SENT), header


class TestDocumentedVerifier:
    def test_the_function_in_the_docs_agrees_with_selpo(self) -> None:
        docs = (Path(__file__).resolve().parents[2] / "docs" / "notify.md").read_text("utf-8")
        block = next(
            b.split("\n", 1)[1]
            for b in docs.split("```python")[1:]
            if "def verify_signature" in b.split("```")[0]
        ).split("```")[0]
        namespace: dict[str, Any] = {}
        exec(compile(block, "docs/notify.md", "exec"), namespace)
        documented = namespace["verify_signature"]
        header = sign(SECRET, BODY, T)
        cases: list[tuple[bytes | str, datetime | float]] = [
            (BODY, SENT),
            (BODY + b" ", SENT),
            (BODY, T + 301),
            (BODY.decode(), T),
        ]
        for body, now in cases:
            assert documented(SECRET, header, body, now) == verify_signature(
                SECRET, header, body, now
            )
        assert documented(SECRET, header, BODY, SENT)
