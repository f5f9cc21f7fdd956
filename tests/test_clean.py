"""Tests of nlp_pp.text.clean: character filter, jamo, whitespace, placeholders, obfuscation, truncation."""

from __future__ import annotations

import re
import time
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp_pp.text.clean import MONEY_TOKEN, PHONE_TOKEN, URL_TOKEN, CleanConfig, clean_text, clean_texts

PLACEHOLDER_WORDS = {URL_TOKEN, PHONE_TOKEN, MONEY_TOKEN}
# The original design's cleaning (bare jamo and punctuation dropped); most tests below check it, the
# defaults keep both (tested in test_defaults_keep_jamo_and_punctuation).
DESIGNED = {"keep_jamo": False, "keep_punct": False}
clean = partial(clean_text, **DESIGNED)


def test_defaults_keep_jamo_and_punctuation():
    assert clean_text("ㅋㅋ 진짜 최고!!! 대박...") == "ㅋㅋ 진짜 최고 ! 대박 …"
    assert CleanConfig() == CleanConfig(keep_jamo=True, keep_punct=True)


def test_bad_option_names_the_field():
    with pytest.raises(ValueError, match=r"CleanConfig.keep_jamo must be true or false \(got 'yes'\)"):
        clean_text("a", keep_jamo="yes")
    with pytest.raises(ValueError, match="max_chars"):
        CleanConfig(max_chars=0)


# --- what is kept ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("오늘 저녁에 같이 밥 먹자", "오늘 저녁에 같이 밥 먹자"),  # Hangul syllables and spaces
        ("Hello WORLD 123", "hello world 123"),  # Latin lower-cased, digits kept
        ("가나다 abc 789", "가나다 abc 789"),
        ("2024년 1월 5일 오후 3시", "2024년 1월 5일 오후 3시"),
        ("똠방각하 햏", "똠방각하 햏"),  # syllables outside KS X 1001 too
    ],
)
def test_keeps_hangul_latin_digits(text, expected):
    assert clean(text) == expected


def test_lowercase_option():
    assert clean("Hello WORLD", lowercase=False) == "Hello WORLD"
    assert clean("Hello WORLD") == "hello world"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a   b\t\tc\n\nd", "a b c d"),
        ("   앞뒤 공백   ", "앞뒤 공백"),
        ("줄\r\n바꿈\u3000전각공백\u00a0nbsp", "줄 바꿈 전각공백 nbsp"),
        ("!!! ??? ...", ""),
        ("", ""),
        ("     ", ""),
    ],
)
def test_collapses_and_strips_whitespace(text, expected):
    assert clean(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[광고] 진짜?! 😀🎉 ♥", "광고 진짜"),  # symbols and emoji become spaces
        ("東京 한자 テスト", "한자"),  # other scripts are dropped
        ("제어\x00문자\x1f끝", "제어 문자 끝"),  # NUL between two words separates them; \x1f is whitespace
    ],
)
def test_drops_everything_else(text, expected):
    assert clean(text) == expected


# --- bare jamo (ㅋㅋ, ㅠㅠ) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, default, kept",
    [
        ("ㅋㅋ 진짜?", "진짜", "ㅋㅋ 진짜"),
        ("ㅠㅠ 슬퍼", "슬퍼", "ㅠㅠ 슬퍼"),
        ("ㅋㅋㅋ", "", "ㅋㅋㅋ"),
        ("대출ㅋㅋ", "대출", "대출ㅋㅋ"),
        ("ㅋㅋ진짜", "진짜", "ㅋㅋ진짜"),
        ("ㅎㅎ ㄱㄴㄷ", "", "ㅎㅎ ㄱㄴㄷ"),
        ("ㅠㅠㅋㅋ", "", "ㅠㅠㅋㅋ"),
    ],
)
def test_bare_jamo_removed_unless_keep_jamo(text, default, kept):
    assert clean(text) == default
    out = clean(text, keep_jamo=True)
    assert out == kept
    # "as typed": compatibility jamo (U+3131...), never the conjoining jamo NFKC produces internally
    assert not re.search("[\u1100-\u11ff]", out)


@pytest.mark.parametrize(
    "text, default, kept",
    [
        ("ㅋㅋㅠㅠ", "", "ㅋㅋㅠㅠ"),
        ("ㅋㅋㅋㅜㅜ", "", "ㅋㅋㅋㅜㅜ"),
    ],
)
def test_laughing_then_crying_jamo_do_not_become_a_syllable(text, default, kept):
    assert (clean(text), clean(text, keep_jamo=True)) == (default, kept)


@pytest.mark.parametrize("text", ["ㅋㅋ \ua960", "ㅋ\ud7b0"])
def test_keep_jamo_with_extended_block_jamo_does_not_raise(text):
    out = clean(text, keep_jamo=True)
    assert out.startswith("ㅋ")


# --- expressive punctuation (keep_punct) ----------------------------------------------------------


@pytest.mark.parametrize(
    "text, kept",
    [
        ("영화..최고", "영화 … 최고"),  # between two words: a boundary and a token
        ("재밌다...", "재밌다 …"),
        ("재밌다…", "재밌다 …"),  # NFKC turns … into ...
        ("뭐냐???", "뭐냐 ?"),
        ("최고!!!", "최고 !"),
        ("뭐지?!", "뭐지 ? !"),
        ("좋아요~~", "좋아요 ~"),
        ("굿^^", "굿 ^^"),
        ("헐;;;", "헐 ;;"),
        ("끝.", "끝"),  # a single . or ; is sentence punctuation: dropped
        ("a ; b", "a b"),
        ("^_^", ""),
    ],
)
def test_keep_punct_turns_runs_into_one_token_each(text, kept):
    assert clean(text, keep_punct=True) == kept


@pytest.mark.parametrize("text", ["영화..최고!!! 재밌어요~~ ^^", "뭐냐??? ...", "헐;;; ^^"])
def test_keep_punct_false_drops_punctuation(text):
    assert not re.search(r"[.?!~^;…]", clean(text, keep_punct=False))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("대.출 가능!!", "대출 가능 !"),
        ("카*지*노~ 무료", "카지노 ~ 무료"),
        ("대~출", "대출"),  # one-letter sides still join: obfuscation undone
        ("재밌다~최고", "재밌다 ~ 최고"),
    ],
)
def test_keep_punct_still_joins_obfuscated_words(text, expected):
    assert clean(text, keep_punct=True) == expected


def test_keep_punct_with_keep_jamo():
    assert clean("ㅋㅋ 최고!! ㅠㅠ...", keep_jamo=True, keep_punct=True) == "ㅋㅋ 최고 ! ㅠㅠ …"


# --- placeholders -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("http://bit.ly/x 보세요", "URL 보세요"),
        ("https://example.com/a?b=1&c=2 보세요", "URL 보세요"),
        ("HTTPS://EXAMPLE.COM/Path 보세요", "URL 보세요"),
        ("www.naver.com 접속", "URL 접속"),
        ("abc.kr 방문", "URL 방문"),
        ("사이트 abc.kr/path 참고", "사이트 URL 참고"),
        ("python.org", "URL"),
        ("bit.ly/abc", "URL"),
        ("naver.com에서 확인", "URL 에서 확인"),
        ("이메일 test@gmail.com", "이메일 test URL"),
    ],
)
def test_url_placeholder(text, expected):
    assert clean(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("연락 010-1234-5678", "연락 PHONE"),
        ("연락 01012345678", "연락 PHONE"),
        ("연락 010.1234.5678", "연락 PHONE"),
        ("연락 010 1234 5678", "연락 PHONE"),
        ("연락 02-123-4567", "연락 PHONE"),
        ("연락 031-123-4567", "연락 PHONE"),
        ("연락 080-123-4567", "연락 PHONE"),
        ("연락 1588-1234", "연락 PHONE"),
        ("연락 15881234", "연락 PHONE"),
        ("+82 010 1234 5678", "PHONE"),
        ("010-1234-5678입니다", "PHONE 입니다"),
        ("전화01012345678로", "전화 PHONE 로"),
        ("０１０-１２３４-５６７８", "PHONE"),  # full-width digits normalised first
    ],
)
def test_phone_placeholder(text, expected):
    assert clean(text) == expected


@pytest.mark.parametrize("text", ["12345678901234", "2024 1234", "123-45"])
def test_numbers_that_are_not_phones_stay_numbers(text):
    assert PHONE_TOKEN not in clean(text)


@pytest.mark.parametrize("text", ["+82 10 1234 5678", "+82-10-1234-5678"])
def test_international_phone_without_leading_zero(text):
    assert clean(text) == "PHONE"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("50만원 입금", "MONEY 입금"),
        ("3,000,000원 입금", "MONEY 입금"),
        ("₩50,000 입금", "MONEY 입금"),
        ("₩ 50,000", "MONEY"),
        ("￦50,000", "MONEY"),
        ("2천만원 대출", "MONEY 대출"),
        ("10만 원", "MONEY"),
        ("300만", "MONEY"),
        ("1억", "MONEY"),
        ("5천원", "MONEY"),
        ("100원", "MONEY"),
        ("10.5만원", "MONEY"),
        ("$20 bonus", "MONEY bonus"),
        ("가격 1,000원!", "가격 MONEY"),
    ],
)
def test_money_placeholder(text, expected):
    assert clean(text) == expected


def test_all_placeholders_together():
    text = "[광고] 대.출 가능!! 010-1234-5678 ㅋㅋ http://bit.ly/x 50만원"
    assert clean(text) == "광고 대출 가능 PHONE URL MONEY"
    assert clean(text, keep_jamo=True) == "광고 대출 가능 PHONE ㅋㅋ URL MONEY"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("연락 010-1234-5678", "연락 010 1234 5678"),
        ("연락 01012345678", "연락 01012345678"),
        ("50만원 입금", "50만원 입금"),
        ("3,000,000원", "3 000 000원"),
        ("₩50,000", "50 000"),
        ("2천만원", "2천만원"),
        ("www.naver.com 접속", "www naver com 접속"),
        ("abc.kr", "abc kr"),
    ],
)
def test_placeholders_false_leaves_digits_and_text(text, expected):
    out = clean(text, placeholders=False)
    assert out == expected
    assert not set(out.split()) & PLACEHOLDER_WORDS


def test_typed_placeholder_words_cannot_forge_a_placeholder():
    # the user typing "URL" is lower-cased, so only real URLs produce the upper-case token
    assert clean("URL PHONE MONEY") == "url phone money"


# --- obfuscation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("대.출", "대출"),
        ("대*출", "대출"),
        ("대~출", "대출"),
        ("대.*.출", "대출"),
        ("c@sino", "csino"),
        ("ㄷㅐ출", "대출"),  # separately typed consonant + vowel compose into the syllable
        ("ㄷㅐ.출 상담", "대출 상담"),
        ("대 . 출", "대 출"),  # symbols between words (not inside one) only separate
        ("대_출", "대출"),
        ("대♥출☆상담", "대출상담"),
        ("카.지.노 바-카-라", "카지노 바카라"),
        ("대.출상담", "대출상담"),  # one side is a single letter: still an obfuscated word
    ],
)
def test_obfuscation_is_undone(text, expected):
    assert clean(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("영화..쓰레기라고", "영화 쓰레기라고"),  # two longer words: the symbols only separate them
        ("재밌다.추천", "재밌다 추천"),
        ("남아요,,박신양씨의", "남아요 박신양씨의"),
        ("또,영화", "또 영화"),  # , ! ? always separate, even next to a single letter
        ("진짜?대박", "진짜 대박"),
        ("free.money", "free money"),
    ],
)
def test_symbols_between_longer_words_separate_them(text, expected):
    assert clean(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("①②③", "123"),  # circled digits
        ("０１２３ＡＢＣ", "0123abc"),  # full-width digits and letters
    ],
)
def test_look_alike_digits_and_letters_are_normalised(text, expected):
    assert clean(text) == expected


# --- truncation, non-str input ---------------------------------------------------------------------------


def test_one_megabyte_string_is_truncated_quickly():
    text = ("대출 상담 가능합니다 abc 123 " * 60_000)[:1_000_000]
    assert len(text) == 1_000_000
    t0 = time.perf_counter()
    out = clean(text)
    assert time.perf_counter() - t0 < 1.0
    assert 0 < len(out) <= 5000
    assert out.startswith("대출 상담 가능합니다 abc 123")
    out = clean(text, max_chars=100)
    assert len(out) <= 100
    assert out == clean(text[:100])


@pytest.mark.slow
@pytest.mark.parametrize("text", ["㎒" * 1_000_000, "1원 " * 400_000])
def test_output_never_longer_than_max_chars(text):
    assert len(clean(text)) <= 5000


@pytest.mark.parametrize("value", [None, 123, 3.5, float("nan"), b"bytes", True])
def test_non_str_input_is_a_type_error(value):
    with pytest.raises(TypeError, match="expects a str"):
        clean_text(value)


def test_clean_texts_applies_one_config():
    texts = ["ㅋㅋ 010-1234-5678", "Hello"]
    assert clean_texts(texts, CleanConfig(**DESIGNED)) == ["PHONE", "hello"]
    assert clean_texts(texts) == ["ㅋㅋ PHONE", "hello"]  # the defaults keep bare jamo
    cfg = CleanConfig(placeholders=False, keep_jamo=True, lowercase=False)
    assert clean_texts(texts, cfg) == ["ㅋㅋ 010 1234 5678", "Hello"]
    assert clean_texts(["가나다라"], CleanConfig(max_chars=2)) == ["가나"]


# --- property: whatever the input, only the allowed characters come out ---------------------------------

_ALLOWED = re.compile(r"[가-힣a-z0-9 ]*")
_mixed = st.lists(
    st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
    | st.characters(min_codepoint=0x3131, max_codepoint=0x318E)
    | st.sampled_from(list("😀 \t\n\x00.-,:/@₩$원만억천0123456789abcXYZＡ１www.http:/kr"))
    | st.characters(blacklist_categories=("Cs",)),
    max_size=60,
).map("".join)


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text() | _mixed, st.booleans())
def test_output_alphabet_property(text, placeholders):
    out = clean(text, placeholders=placeholders)
    assert out == out.strip() and "  " not in out
    words = [w for w in out.split() if not (placeholders and w in PLACEHOLDER_WORDS)]
    assert _ALLOWED.fullmatch(" ".join(words)), (text, out)
