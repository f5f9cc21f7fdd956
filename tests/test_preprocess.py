"""Tests of nlp_pp.preprocess: the clean -> MeCab -> stopwords -> jamo chain and its config."""

from __future__ import annotations

import dataclasses
import importlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp_pp.errors import ConfigError
from nlp_pp.text.hangul import compose, decompose
from nlp_pp.text.preprocess import PreprocessConfig, preprocess

# `nlp_pp.preprocess` (the attribute) is the function: the package re-exports it over the submodule
preprocess_module = importlib.import_module("nlp_pp.text.preprocess")


# The original design's chain (stopwords removed, bare jamo and punctuation dropped): most tests below
# check it; the defaults keep all three (test_defaults_are_the_measured_chain).
DESIGNED = {"stopwords": "default", "keep_jamo": False, "keep_punct": False}


def composed(texts, **options):
    return [[compose(t) for t in tokens] for tokens in preprocess(texts, **{**DESIGNED, **options})]


def test_defaults_are_the_measured_chain():
    assert [[compose(t) for t in preprocess(["대.출 필요하세요? ㅋㅋ"])[0]]] == [
        ["대출", "필요", "하", "세요", "?", "ㅋㅋ"]
    ]
    assert PreprocessConfig() == PreprocessConfig(stopwords=None, keep_jamo=True, keep_punct=True)


def test_raw_output_is_jamo():
    out = preprocess(["대.출 필요하세요? 010-1234-5678"], **DESIGNED)
    assert out == [
        [
            "\u1103\u1162\u1d25\u110e\u116e\u11af",  # 대출
            "\u1111\u1175\u11af\u110b\u116d\u1d25",  # 필요
            "\u1109\u1166\u1d25\u110b\u116d\u1d25",  # 세요
            "PHONE",
        ]
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("대.출 필요하세요? 010-1234-5678", ["대출", "필요", "세요", "PHONE"]),
        ("[광고] 무료 쿠폰 http://bit.ly/x 50만원 지급", ["광고", "무료", "쿠폰", "URL", "MONEY", "지급"]),
        ("영화를 정말 재밌게 봤어요 ㅋㅋ", ["영화", "정말", "재밌", "봤", "어요"]),
        ("대출 안 받아요. 못 해요", ["대출", "안", "받", "아요", "못", "해요"]),  # negations survive
        ("무료 쿠폰 지급! www.event.kr 클릭", ["무료", "쿠폰", "지급", "URL", "클릭"]),
        ("ＶＩＰ 회원 ₩50,000 적립", ["vip", "회원", "MONEY", "적립"]),
        ("", []),
        ("!!! ... ???", []),
    ],
)
def test_chain_output(text, expected):
    out = preprocess([text], **DESIGNED)
    assert [[compose(t) for t in out[0]]] == [expected]
    assert out == [[decompose(t) for t in expected]]


def test_several_texts_keep_order():
    assert composed(["대출 상담", "", "123", "영화 재밌어요"]) == [
        ["대출", "상담"],
        [],
        ["123"],
        ["영화", "재밌", "어요"],
    ]
    assert preprocess([]) == []
    assert composed(t for t in ["대출 상담"]) == [["대출", "상담"]]  # any iterable


@pytest.mark.parametrize(
    "texts, message",
    [
        ("대출 상담", "texts must be a list of strings, not one str"),
        (["대출", None], r"texts\[1\] is NoneType"),
        (["대출", float("nan")], r"texts\[1\] is NaN \(a missing value\)"),
        ([b"bytes"], r"texts\[0\] is bytes"),
        ([123], r"texts\[0\] is int"),
    ],
)
def test_texts_that_are_not_strings_are_a_type_error(texts, message):
    with pytest.raises(TypeError, match=message):
        preprocess(texts)


def test_option_jamo_false():
    assert preprocess(["대.출 필요하세요? 010-1234-5678"], jamo=False, **DESIGNED) == [
        ["대출", "필요", "세요", "PHONE"]
    ]


def test_option_stopwords_none_and_file(tmp_path):
    text = ["대.출 필요하세요? 영화를 봤다"]
    assert composed(text) == [["대출", "필요", "세요", "영화", "봤"]]
    assert composed(text, stopwords=None) == [["대출", "필요", "하", "세요", "영화", "를", "봤", "다"]]
    p = tmp_path / "mine.txt"
    p.write_text("# my list\n대출\n영화\n", encoding="utf-8")
    assert composed(text, stopwords=str(p)) == [["필요", "하", "세요", "를", "봤", "다"]]
    assert composed(text, stopwords=None, extra_stopwords=("를", "다")) == [
        ["대출", "필요", "하", "세요", "영화", "봤"]
    ]


def test_option_placeholders_false():
    assert composed(["대.출 필요하세요? 010-1234-5678"], placeholders=False) == [
        ["대출", "필요", "세요", "010", "1234", "5678"]
    ]
    assert composed(["http://bit.ly/x 50만원"], placeholders=False) == [["http", "bit", "lyx", "50", "원"]]


def test_option_keep_pos_and_drop_pos():
    assert composed(["대.출 필요하세요? 010-1234-5678"], keep_pos=("NN",)) == [["대출", "필요"]]
    assert composed(["대.출 필요하세요? 010-1234-5678"], keep_pos="NN") == [["대출", "필요"]]
    assert composed(["영화를 보았습니다"], stopwords=None, drop_pos=("J", "E")) == [["영화", "보"]]


def test_option_keep_jamo():
    assert composed(["영화를 정말 재밌게 봤어요 ㅋㅋ"], keep_jamo=True) == [
        ["영화", "정말", "재밌", "봤", "어요", "ㅋㅋ"]
    ]


def test_option_keep_punct_tokens_survive_mecab():
    out = composed(["영화..최고!!! 재밌어요~~ ^^ 헐;;"], keep_punct=True)
    assert out == [["영화", "…", "최고", "!", "재밌", "어요", "~", "^^", "헐", ";;"]]


def test_config_equals_keywords():
    cfg = PreprocessConfig(stopwords=None, keep_pos=("NN", "VV"), jamo=False)
    texts = ["대출 상담 받으세요", "영화를 보았습니다"]
    assert preprocess(texts, cfg) == preprocess(texts, stopwords=None, keep_pos=("NN", "VV"), jamo=False)


def test_config_and_kwargs_together_is_config_error():
    with pytest.raises(ConfigError, match="not both"):
        preprocess(["a"], PreprocessConfig(), jamo=False)


def test_unknown_keyword_option_is_config_error():
    with pytest.raises(ConfigError):
        preprocess(["a"], bogus=1)


def test_config_round_trip():
    cfg = PreprocessConfig(
        placeholders=False,
        keep_jamo=True,
        lowercase=False,
        max_chars=100,
        keep_pos=("NN",),
        drop_pos=("NNB",),
        stopwords=None,
        jamo=False,
        extra_stopwords=("대출",),
        keep_punct=True,
    )
    d = cfg.to_dict()
    assert set(d) == {f.name for f in dataclasses.fields(PreprocessConfig)}
    assert PreprocessConfig.from_dict(d) == cfg
    assert PreprocessConfig.from_dict(json.loads(json.dumps(d))) == cfg  # lists come back as tuples
    assert PreprocessConfig.from_dict(PreprocessConfig().to_dict()) == PreprocessConfig()


def test_from_dict_unknown_key():
    with pytest.raises(ConfigError, match="bogus"):
        PreprocessConfig.from_dict({"jamo": True, "bogus": 1})


@pytest.mark.parametrize(
    "bad", [dict(max_chars=0), dict(max_chars=-5), dict(max_chars=1.5), dict(stopwords="no/such/file.txt")]
)
def test_config_validation(bad):
    with pytest.raises(ConfigError):
        PreprocessConfig(**bad)


def test_fingerprint(tmp_path):
    base = PreprocessConfig()
    assert base.fingerprint() == PreprocessConfig().fingerprint()
    assert len(base.fingerprint()) == 16
    changes = [
        dict(placeholders=False),
        dict(keep_jamo=False),
        dict(lowercase=False),
        dict(max_chars=100),
        dict(keep_pos=("NN",)),
        dict(drop_pos=("J",)),
        dict(stopwords="default"),
        dict(jamo=False),
        dict(extra_stopwords=("대출",)),
        dict(keep_punct=False),
    ]
    prints = {base.fingerprint()} | {dataclasses.replace(base, **c).fingerprint() for c in changes}
    assert len(prints) == len(changes) + 1
    # the stopword file's contents count, not only its name
    p = tmp_path / "sw.txt"
    p.write_text("대출\n", encoding="utf-8")
    before = PreprocessConfig(stopwords=str(p)).fingerprint()
    p.write_text("대출\n상담\n", encoding="utf-8")
    assert PreprocessConfig(stopwords=str(p)).fingerprint() != before


def test_fingerprint_with_path_stopwords(tmp_path):
    p = tmp_path / "sw.txt"
    p.write_text("대출\n", encoding="utf-8")
    assert PreprocessConfig(stopwords=p).fingerprint() == PreprocessConfig(stopwords=str(p)).fingerprint()


def test_parallel_equals_serial():
    base = [
        "대.출 필요하세요? 010-1234-5678",
        "영화를 정말 재밌게 봤어요 ㅋㅋ",
        "",
        "무료 쿠폰 http://bit.ly/x",
        "내일 회의 몇 시야?",
        "ＶＩＰ 회원 ₩50,000 적립",
    ]
    texts = [f"{base[i % len(base)]} {i}" for i in range(4500)]  # 3 chunks -> a process pool
    serial = preprocess(texts, n_jobs=1)
    parallel = preprocess(texts, n_jobs=2)
    assert parallel == serial
    assert [t[-1] for t in parallel] == [str(i) for i in range(4500)]


# --- fuzz: whatever the text, one list of non-empty str tokens comes back -----------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
_mixed = st.lists(
    st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
    | st.characters(min_codepoint=0x3131, max_codepoint=0x318E)
    | st.characters(min_codepoint=0x1100, max_codepoint=0x11FF)
    | st.sampled_from(list("😀🎉👍🏻 \t\n\r\x00\x07\x1b\u200b\u202e.-,:/@₩$원만0123456789abcXYZＡ１ᴥ\ue000"))
    | st.characters(blacklist_categories=("Cs",)),
    max_size=80,
).map("".join)
_long = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12).map(
    lambda s: (s * (100_000 // len(s) + 1))[:100_000]
)


def _check(out):
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], list)
    for t in out[0]:
        assert isinstance(t, str) and t != "" and not t.isspace(), out


@settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(_text | _mixed | _long)
def test_fuzz_never_raises_default_options(text):
    _check(preprocess([text]))


@settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(_text | _mixed, st.booleans(), st.booleans(), st.booleans())
def test_fuzz_never_raises_other_options(text, placeholders, jamo, lowercase):
    _check(preprocess([text], placeholders=placeholders, jamo=jamo, lowercase=lowercase, stopwords=None))


def test_keep_jamo_never_raises():
    _check(preprocess(["ㅋㅋ \ua960"], keep_jamo=True))
