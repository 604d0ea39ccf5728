from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.canonical import GENESIS_HASH, canonical_json, chain_hash, has_long_digit_run

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
@settings(max_examples=200)
def test_canonical_json_ignores_key_order(value: dict[str, object]) -> None:
    reordered = dict(reversed(list(value.items())))

    assert canonical_json(value) == canonical_json(reordered)


@given(st.lists(st.binary(min_size=1, max_size=16), min_size=2, max_size=8), st.data())
def test_changing_any_payload_hash_changes_every_later_chain_hash(hashes: list[bytes], data: st.DataObject) -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)

    def chain(payload_hashes: list[str]) -> list[str]:
        out, prev = [], GENESIS_HASH
        for seq, h in enumerate(payload_hashes, start=1):
            prev = chain_hash(prev_hash=prev, seq=seq, kind="event", received_at=when, producer_id=None, payload_hash=h)
            out.append(prev)
        return out

    original = [h.hex() for h in hashes]
    index = data.draw(st.integers(0, len(original) - 1))
    tampered = list(original)
    tampered[index] = tampered[index] + "00"

    before, after = chain(original), chain(tampered)

    assert before[:index] == after[:index]
    assert all(b != a for b, a in zip(before[index:], after[index:], strict=True))


# Digits, and bytes that look like them in other encodings: Arabic-Indic digits in UTF-8, fullwidth
# ones, and bytes above 0x7F (the check reads bytes, not characters).
_digitish = st.sampled_from(
    [b"0", b"7", b"9", b"1", b" ", b"-", b".", b"e", b"\xd9\xa3", b"\xef\xbc\x95", b"\xb9", b"/"]
)


@given(st.lists(_digitish, max_size=60).map(b"".join) | st.binary(max_size=60))
@settings(max_examples=500)
def test_long_digit_run_is_found_exactly_where_a_regular_expression_finds_one(data: bytes) -> None:
    assert has_long_digit_run(data) == bool(re.search(rb"[0-9]{19,}", data))


def test_long_digit_run_counts_nineteen_digits_in_a_row() -> None:
    assert has_long_digit_run(b'{"n": 1234567890123456789}')
    assert not has_long_digit_run(b'{"n": 123456789012345678}')  # 18 digits
    assert not has_long_digit_run(b'{"n": 123456789.0123456789}')  # 9 and 10 either side of the point
