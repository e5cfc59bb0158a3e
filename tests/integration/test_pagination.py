"""The keyset cursor helper every list uses (no database needed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.pagination import CursorError, Keyset, decode_cursor, encode_cursor, scope_of

LEADS = Keyset("leads", {"score": int, "company_id": int}, {"score": 101, "company_id": 0})


@given(
    score=st.integers(min_value=0, max_value=100),
    company_id=st.integers(min_value=1, max_value=2**63 - 1),
    tenant=st.text(min_size=1, max_size=40),
)
def test_round_trip_in_scope_only(score: int, company_id: int, tenant: str) -> None:
    scope = scope_of(tenant, bucket=None)
    token = encode_cursor("leads", {"score": score, "company_id": company_id}, scope=scope)
    assert LEADS.after(token, scope) == {"score": score, "company_id": company_id}
    with pytest.raises(CursorError, match="^invalid cursor"):
        LEADS.after(token, scope_of(tenant + "x", bucket=None))
    with pytest.raises(CursorError, match="^invalid cursor"):
        LEADS.after(token, scope_of(tenant, bucket="high"))


@given(st.text(max_size=600))
def test_arbitrary_text_is_a_cursor_error(token: str) -> None:
    with pytest.raises(CursorError, match="^invalid cursor"):
        decode_cursor(token, "leads", {"score": int, "company_id": int})


def test_page_cuts_limit_plus_one_rows() -> None:
    rows = [{"score": 90, "company_id": i} for i in (9, 8, 7)]
    page, cursor = LEADS.page(rows, 2, "s")
    assert page == rows[:2] and cursor
    assert LEADS.after(cursor, "s") == {"score": 90, "company_id": 8}
    assert LEADS.page(rows, 3, "s") == (rows, None)
    assert LEADS.page([], 3, "s") == ([], None)
    assert LEADS.after(None, "s") == {"score": 101, "company_id": 0}


def test_kind_version_and_field_types_are_checked() -> None:
    token = encode_cursor("jobs", {"before": 5})
    with pytest.raises(CursorError, match="another list"):
        decode_cursor(token, "leads", {"before": int})
    with pytest.raises(CursorError):
        decode_cursor(token, "jobs", {"before": str})
    with pytest.raises(CursorError):
        decode_cursor(token, "jobs", {"before": int, "extra": int})
    assert decode_cursor(token, "jobs", {"before": int}) == {"before": 5}
    # bool is not an int here (JSON true would otherwise pass as 1).
    flag = encode_cursor("jobs", {"before": True})  # type: ignore[dict-item]
    with pytest.raises(CursorError):
        decode_cursor(flag, "jobs", {"before": int})


def test_cursors_depend_on_the_server_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from config.settings import reset_settings

    token = encode_cursor("jobs", {"before": 5})
    monkeypatch.setenv("ICP_AUTH_JWT_SECRET", "another-secret-another-secret-0123456789")
    reset_settings()
    with pytest.raises(CursorError):
        decode_cursor(token, "jobs", {"before": int})
