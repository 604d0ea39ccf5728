from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.canonical import GENESIS_HASH, canonical_json, chain_hash

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
