"""Tests of nlp_pp.text.hangul: exact jamo decomposition and its exact inverse."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp_pp.text.hangul import EMPTY_FINAL, ESCAPE, compose, compose_tokens, decompose, decompose_tokens


def test_decompose_exact_code_points():
    out = decompose("대출")
    assert out == "\u1103\u1162\u1d25\u110e\u116e\u11af"  # 대ᴥ출
    # 대 = ㄷ + ㅐ + (no final), 출 = ㅊ + ㅜ + ㄹ, as conjoining jamo
    assert [hex(ord(c)) for c in out] == ["0x1103", "0x1162", "0x1d25", "0x110e", "0x116e", "0x11af"]
    assert EMPTY_FINAL == "\u1d25"


@pytest.mark.parametrize(
    "syllable, codes",
    [
        ("가", [0x1100, 0x1161, 0x1D25]),
        ("각", [0x1100, 0x1161, 0x11A8]),
        ("힣", [0x1112, 0x1175, 0x11C2]),
        ("닭", [0x1103, 0x1161, 0x11B0]),
        ("의", [0x110B, 0x1174, 0x1D25]),
    ],
)
def test_every_syllable_becomes_three_jamo(syllable, codes):
    assert [ord(c) for c in decompose(syllable)] == codes
    assert compose(decompose(syllable)) == syllable


def test_all_11172_syllables_round_trip():
    syllables = "".join(chr(c) for c in range(0xAC00, 0xD7A4))
    d = decompose(syllables)
    assert len(d) == 3 * 11172
    assert compose(d) == syllables


@pytest.mark.parametrize("text", ["URL", "PHONE", "abc 123", "😀", "ㅋㅋ", "ㅠㅠ", "", " ", "東京", "a-b_c"])
def test_non_hangul_unchanged(text):
    assert decompose(text) == text
    assert compose(text) == text


def test_mixed_token():
    assert decompose("vip회원") == "vip" + "\u1112\u116c\u1d25" + "\u110b\u116f\u11ab"
    assert compose(decompose("vip회원")) == "vip회원"


def test_literal_jamo_filler_and_escape_are_escaped():
    # characters that look like decomposition output are escaped, so they survive the round trip
    assert decompose(EMPTY_FINAL) == ESCAPE + EMPTY_FINAL
    assert decompose("\u1100") == ESCAPE + "\u1100"
    assert decompose(ESCAPE) == ESCAPE + ESCAPE
    literal = "\u1103\u1162\u1d25"  # the jamo of 대 typed literally: must NOT compose into 대
    assert decompose(literal) != decompose("대")
    assert compose(decompose(literal)) == literal


def test_compose_of_plain_jamo_sequences():
    assert compose("\u1103\u1162\u1d25\u110e\u116e\u11af") == "대출"
    assert compose("\u1100\u1161") == "\u1100\u1161"  # incomplete triple stays as it is
    assert compose(ESCAPE) == ESCAPE  # a dangling escape is kept


def test_token_lists():
    tokens = ["대출", "PHONE", "", "ㅋㅋ", "상담"]
    d = decompose_tokens(tokens)
    assert d == [
        "\u1103\u1162\u1d25\u110e\u116e\u11af",
        "PHONE",
        "",
        "ㅋㅋ",
        "\u1109\u1161\u11bc\u1103\u1161\u11b7",
    ]
    assert compose_tokens(d) == tokens
    assert decompose_tokens([]) == [] and compose_tokens([]) == []


_hangulish = st.lists(
    st.sampled_from([EMPTY_FINAL, ESCAPE])
    | st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)  # syllables
    | st.characters(min_codepoint=0x1100, max_codepoint=0x11FF)  # conjoining jamo
    | st.characters(min_codepoint=0x3131, max_codepoint=0x318E)  # compatibility jamo
    | st.characters(min_codepoint=0xA960, max_codepoint=0xA97F)
    | st.characters(min_codepoint=0xD7B0, max_codepoint=0xD7FF)
    | st.characters(),
    max_size=40,
).map("".join)


@settings(max_examples=300, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_round_trip_any_text(s):
    assert compose(decompose(s)) == s


@settings(max_examples=300, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(_hangulish)
def test_round_trip_hangul_biased(s):
    assert compose(decompose(s)) == s


@settings(max_examples=100, database=None)
@given(st.lists(_hangulish, max_size=8))
def test_round_trip_token_lists(tokens):
    assert compose_tokens(decompose_tokens(tokens)) == tokens
