"""Tests of nlp_pp.text.tokenize: the lattice fast path must agree with python-mecab-ko's public API."""

from __future__ import annotations

import importlib
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp_pp.errors import ConfigError
from nlp_pp.text.tokenize import MecabTokenizer, tokenize

# `nlp_pp.tokenize` (the attribute) is the function: the package re-exports it over the submodule
tokenize_module = importlib.import_module("nlp_pp.text.tokenize")

SENTENCES = [
    "대출 상담 받으세요",
    "영화 재밌어요",
    "아버지가방에들어가신다",
    "나는 어제 학교에 갔었다.",
    "했습니다 했어요 하셨겠지요",
    "ㅋㅋㅋ 진짜 웃기다 ㅠㅠ",
    "Hello world 123 테스트",
    "무료 쿠폰 지급 이벤트 클릭!!",
    "  앞뒤 공백  ",
    "URL PHONE MONEY",
    "먹었겠습니까",
    "줬다 봤다 갔다 왔다",
    "😀 이모지 東京 한자",
    "[광고] 저금리 대출 010-1234-5678 http://bit.ly/x 50만원",
    "두 개의 사과를 먹었다",
    "a",
]


@pytest.fixture(scope="module")
def mecab():
    from mecab import MeCab

    return MeCab()


@pytest.fixture(scope="module")
def tok():
    return MecabTokenizer()


def test_fast_path_is_used(tok, monkeypatch):
    # the point of MecabTokenizer is the lattice path: with the public API broken it still tokenizes
    def broken(*args, **kwargs):
        raise AssertionError("the public API was called")

    monkeypatch.setattr(tok._mecab, "morphs", broken)
    monkeypatch.setattr(tok._mecab, "pos", broken)
    assert tok("대출 상담 받으세요") == ["대출", "상담", "받", "으세요"]
    assert tok.pos("대출 상담")[0] == ("대출", "NNG")


def _assert_public_api_output(tok, mecab):
    assert tok._tagger is None
    for text in SENTENCES:
        assert tok(text) == mecab.morphs(text)
        assert tok.pos(text) == [tuple(p) for p in mecab.pos(text)]
    assert MecabTokenizer.__call__(tok, "") == []


def test_fallback_without_create_lattice(monkeypatch, mecab):
    # a binding without mecab.utils.create_lattice: the public API, same tokens
    monkeypatch.delattr(importlib.import_module("mecab.utils"), "create_lattice")
    _assert_public_api_output(MecabTokenizer(), mecab)


def test_fallback_without_private_tagger(monkeypatch, mecab):
    # a MeCab class with the public methods only (no _tagger attribute)
    mecab_module = importlib.import_module("mecab")
    real_class = mecab_module.MeCab

    class PublicOnly:
        def __init__(self):
            self._real = real_class()

        def morphs(self, text):
            return self._real.morphs(text)

        def pos(self, text):
            return self._real.pos(text)

    monkeypatch.setattr(mecab_module, "MeCab", PublicOnly)
    tok = MecabTokenizer()
    assert isinstance(tok._mecab, PublicOnly)
    _assert_public_api_output(tok, mecab)
    assert MecabTokenizer(keep_pos=("NN",))("대출 상담 받으세요") == ["대출", "상담"]


@pytest.mark.parametrize("broken", ["other text", "raises", "no output"])
def test_fallback_when_the_fast_path_disagrees_on_the_probe(monkeypatch, mecab, broken):
    # internals that exist but behave differently (another lattice output, an error, a failed parse)
    # are caught by the start-up probe: the tokenizer then uses the public API
    utils = importlib.import_module("mecab.utils")
    real = utils.create_lattice

    def fake(sentence):
        if broken == "raises":
            raise TypeError("a different signature")
        if broken == "no output":
            return real("")
        return real(sentence + " 추가")

    monkeypatch.setattr(utils, "create_lattice", fake)
    _assert_public_api_output(MecabTokenizer(), mecab)


def test_probe_agrees_with_the_installed_binding(tok, mecab):
    # the probe's text exercises the parts of the lattice output the fast path reads
    from nlp_pp.text.tokenize import _PROBE

    assert tok._fast_path_agrees()
    tags = {t for _, t in mecab.pos(_PROBE)}
    assert {"NNG", "SN", "SL", "SF"} <= tags and any("+" in t for t in tags)


@pytest.mark.parametrize("text", SENTENCES)
def test_morphs_equal_public_api(tok, mecab, text):
    assert tok(text) == mecab.morphs(text)
    assert tok.pos(text) == [tuple(p) for p in mecab.pos(text)]


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
        | st.sampled_from(list(" .,!?ㅋㅠabcXYZ123")),
        max_size=40,
    ).map("".join)
    | st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
)
def test_morphs_equal_public_api_property(tok, mecab, text):
    assert tok(text) == mecab.morphs(text)
    assert "" not in tok(text)


def test_known_output(tok):
    assert tok("대출 상담 받으세요") == ["대출", "상담", "받", "으세요"]
    assert tok.pos("영화를 보았습니다") == [
        ("영화", "NNG"),
        ("를", "JKO"),
        ("보", "VV"),
        ("았", "EP"),
        ("습니다", "EF"),
    ]


@pytest.mark.parametrize(
    "keep, drop, text, expected",
    [
        (("NN",), None, "대출 상담 받으세요", ["대출", "상담"]),
        (None, ("J", "E"), "영화를 보았습니다", ["영화", "보"]),
        (("NN", "VV"), ("NNB",), "두 개의 사과를 먹었다", ["사과", "먹"]),
        (("VV",), None, "했습니다", ["했"]),  # compound tag VV+EP matches the prefix VV
        (("JKO",), None, "영화를 보았습니다", ["를"]),
        (None, ("NNG",), "대출 상담", []),
    ],
)
def test_keep_and_drop_pos(keep, drop, text, expected):
    assert MecabTokenizer(keep_pos=keep, drop_pos=drop)(text) == expected


@pytest.mark.parametrize("text", SENTENCES)
def test_pos_filter_equals_filtering_public_pos(mecab, text):
    keep, drop = ("NN", "VV", "VA", "SL", "SN"), ("NNB",)
    expected = [m for m, t in mecab.pos(text) if t.startswith(keep) and not t.startswith(drop)]
    assert MecabTokenizer(keep_pos=keep, drop_pos=drop)(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_and_blank(text):
    assert MecabTokenizer()(text) == []
    assert MecabTokenizer(keep_pos=("NN",))(text) == []
    assert MecabTokenizer().pos(text) == []


def test_tokenize_function_keeps_order_and_options():
    assert tokenize(["영화 재밌어요", "", "대출 상담"]) == [["영화", "재밌", "어요"], [], ["대출", "상담"]]
    assert tokenize(["대출 상담 받으세요"], keep_pos=["NN"]) == [["대출", "상담"]]
    assert tokenize(["영화를 보았습니다"], drop_pos=["J", "E"]) == [["영화", "보"]]
    assert tokenize([]) == []


def test_parallel_equals_serial_on_5000_texts():
    rnd = random.Random(0)
    words = [
        "대출",
        "상담",
        "받으세요",
        "영화",
        "재밌어요",
        "오늘",
        "저녁에",
        "같이",
        "밥",
        "먹자",
        "무료",
        "쿠폰",
        "010-1234-5678",
        "http://bit.ly/x",
        "50만원",
        "ㅋㅋ",
        "안",
        "못",
        "가요",
        "Hello",
        "했습니다",
    ]
    # each text ends in its own index, so order is checked as well as content
    texts = [" ".join(rnd.choice(words) for _ in range(rnd.randint(0, 12))) + f" {i}" for i in range(5000)]
    serial = tokenize(texts, n_jobs=1)
    parallel = tokenize(texts, n_jobs=2)  # 3 chunks of <= 2000 texts -> a process pool
    assert parallel == serial
    assert len(parallel) == 5000
    assert [t[-1] for t in parallel] == [str(i) for i in range(5000)]


def test_bad_n_jobs():
    with pytest.raises(ConfigError):
        tokenize(["a"], n_jobs=-2)


def test_package_versions_name_the_installed_binding(monkeypatch):
    # a run records which distribution gave it the `mecab` module (python-mecab-ko or its rebuild for
    # Python >= 3.13) and the dictionary's version
    from importlib import metadata

    from nlp_pp import resources

    versions = resources.package_versions()
    owners = metadata.packages_distributions()["mecab"]
    assert [b for b in resources.MECAB_BINDINGS if b in versions] == [
        b for b in resources.MECAB_BINDINGS if b in owners
    ]
    for binding in owners:
        assert versions[binding] == metadata.version(binding)
    assert versions["python-mecab-ko-dic"] == metadata.version("python-mecab-ko-dic")

    def nothing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(resources.metadata, "version", nothing)
    versions = resources.package_versions()
    assert versions["python-mecab-ko"] == "not installed" and "python-mecab-ko-py313" not in versions
    assert versions["python-mecab-ko-dic"] == "not installed" and versions["torch"] == "not installed"
