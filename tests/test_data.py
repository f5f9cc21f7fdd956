"""Tests of nlp_pp.text.load: loading CSVs (encodings, URLs), one-line errors, drop counts, sampling,
splits."""

from __future__ import annotations

import pandas as pd
import pytest

from nlp_pp.errors import ConfigError, DataError
from nlp_pp.text.load import check_labels, load_dataset, split_dataset

ROWS = [
    ("오늘 저녁에 같이 밥 먹자", "일상대화"),
    ("[광고] 저금리 대출 상담 010-1234-5678", "스팸문자"),
    ("똠방각하 햏 뷁", "일상대화"),  # syllables that exist in CP949 but not in EUC-KR
    ('무료 쿠폰 지급, "이벤트" 클릭', "스팸문자"),
]

from tests.conftest import closed_port, one_line_error, write_csv  # noqa: E402

# --- encodings -------------------------------------------------------------------------------------


def test_euc_kr_is_read_as_cp949_its_superset(tmp_path):
    rows = [r for r in ROWS if "똠" not in r[0]]  # EUC-KR spells the syllables outside KS X 1001 differently
    df, report = load_dataset(write_csv(tmp_path / "euc.csv", rows, "euc-kr"))
    assert df["text"].tolist() == [r[0] for r in rows] and report.encoding == "cp949"


@pytest.mark.parametrize(
    "encoding, reported",
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8"),  # the byte-order mark is stripped
        ("cp949", "cp949"),
    ],
)
def test_encodings_load(tmp_path, encoding, reported):
    p = write_csv(tmp_path / f"{encoding}.csv", ROWS, encoding)
    df, report = load_dataset(p)
    assert df["text"].tolist() == [r[0] for r in ROWS]
    assert df["label"].tolist() == [r[1] for r in ROWS]
    assert list(df.columns) == ["text", "label"]
    assert report.encoding == reported
    assert report.rows == report.rows_read == 4


def test_euc_kr_loads(tmp_path):
    rows = [r for r in ROWS if "똠" not in r[0]] + [("내일 회의 몇 시야", "일상대화")]
    p = write_csv(tmp_path / "euckr.csv", rows, "euc-kr")
    df, report = load_dataset(p)
    assert df["text"].tolist() == [r[0] for r in rows]
    assert report.encoding in {"cp949", "euc-kr"}  # CP949 is a superset of EUC-KR and is tried first


def test_forced_encoding(tmp_path):
    p = write_csv(tmp_path / "cp.csv", ROWS, "cp949")
    df, report = load_dataset(p, encoding="cp949")
    assert report.encoding == "cp949" and df["text"][2] == "똠방각하 햏 뷁"


def test_a_local_file_is_streamed_and_hashed_whole(tmp_path, monkeypatch):
    """The encoding is chosen on every byte (CP949 only after 70 KB of ASCII), the hash is the file's,
    and the file is never read whole into memory (read_bytes is for downloads only)."""
    import hashlib

    from nlp_pp.text import load

    rows = [(f"row {i} plain ascii text", "a" if i % 2 else "b") for i in range(3000)] + [
        ("똠방각하 햏", "a")
    ]
    p = write_csv(tmp_path / "late.csv", rows, "cp949")
    assert p.stat().st_size > 70_000

    def whole_file(*args, **kwargs):
        raise AssertionError("the whole file was read into memory")

    monkeypatch.setattr(load, "read_bytes", whole_file)
    df, report = load_dataset(p)
    assert report.encoding == "cp949" and df["text"].iloc[-1] == "똠방각하 햏"
    assert report.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()


def test_only_the_two_columns_are_kept_and_every_row_is_still_checked(tmp_path):
    p = tmp_path / "wide.csv"
    p.write_text("id,content,note,class\n1,가,x,a\n2,나,y,b\n3,다\x00라,z,a\n", encoding="utf-8")
    df, _ = load_dataset(p)
    assert list(df.columns) == ["text", "label"] and df["text"].tolist() == [
        "가",
        "나",
        "다라",
    ]  # NUL removed
    p.write_text("id,content,note,class\n1,가,x,a\n2,나,y,b,extra\n", encoding="utf-8")
    with pytest.raises(DataError, match="not a valid CSV"):
        load_dataset(p)


def test_a_long_run_of_nul_bytes_does_not_end_the_file(tmp_path):
    p = tmp_path / "holes.csv"
    rows = b"".join(b"t%d,a\n" % i for i in range(20_000))  # past the 64 KiB the binary check reads
    p.write_bytes(b"content,class\n" + rows + b"\0" * 200_000 + b"\nz1,b\nz2,a\n")
    df, _ = load_dataset(p)
    assert len(df) == 20_002 and df["text"].tolist()[-2:] == ["z1", "z2"]


def test_a_file_that_changes_while_it_is_read_is_an_error_not_a_wrong_hash(tmp_path, monkeypatch):
    from nlp_pp.text import load

    p = write_csv(tmp_path / "growing.csv", ROWS)
    real = load.scan_encoding

    def scan_then_append(*args, **kwargs):
        found = real(*args, **kwargs)
        with open(p, "a", encoding="utf-8") as f:
            f.write("한 줄 더,일상대화\n")
        return found

    monkeypatch.setattr(load, "scan_encoding", scan_then_append)
    with pytest.raises(DataError, match="changed while it was being read") as e:
        load_dataset(p)
    assert "\n" not in str(e.value)


def test_a_large_blank_file_is_empty(tmp_path):
    p = tmp_path / "blank.csv"
    p.write_bytes(b" \n" * 100_000)
    with pytest.raises(DataError, match="is empty"):
        load_dataset(p)


def test_report_fields(tmp_path):
    import hashlib

    p = write_csv(tmp_path / "d.csv", ROWS)
    _, report = load_dataset(p)
    d = report.to_dict()
    assert d["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
    assert d["source"] == str(p) and d["text_col"] == "content" and d["label_col"] == "class"


def test_other_column_names(tmp_path):
    p = write_csv(tmp_path / "d.csv", [("좋은 영화", "1"), ("별로", "0")], cols=("document", "label"))
    df, _ = load_dataset(p, text_col="document", label_col="label")
    assert df.to_dict("list") == {"text": ["좋은 영화", "별로"], "label": ["1", "0"]}


def test_na_like_strings_are_text(tmp_path):
    p = tmp_path / "na.csv"
    p.write_text("content,class\nNA,a\nnull,b\nNone,a\n", encoding="utf-8")
    df, report = load_dataset(p)
    assert df["text"].tolist() == ["NA", "null", "None"] and report.dropped_missing == 0


# --- URLs ------------------------------------------------------------------------------------------


def test_http_url_loads(tmp_path, http_dir):
    write_csv(tmp_path / "remote.csv", ROWS, "cp949")
    url = f"{http_dir}/remote.csv"
    df, report = load_dataset(url)
    assert df["text"].tolist() == [r[0] for r in ROWS]
    assert report.source == url and report.encoding == "cp949"


def test_http_404_is_data_error(http_dir):
    with pytest.raises(DataError) as e:
        load_dataset(f"{http_dir}/missing.csv")
    one_line_error(e, "cannot download", "missing.csv")


def test_unreachable_url_is_data_error():
    url = f"http://127.0.0.1:{closed_port()}/x.csv"
    with pytest.raises(DataError) as e:
        load_dataset(url)
    one_line_error(e, "cannot download", url)


# --- one-line errors -------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(DataError) as e:
        load_dataset(tmp_path / "nope.csv")
    one_line_error(e, "file not found", "nope.csv")


def test_directory(tmp_path):
    with pytest.raises(DataError) as e:
        load_dataset(tmp_path)
    one_line_error(e, "is a directory")


def test_binary_junk(tmp_path):
    p = tmp_path / "junk.csv"
    p.write_bytes(b"\x00\x01\x02\x03PK\x00\x00" * 200)
    with pytest.raises(DataError) as e:
        load_dataset(p)
    one_line_error(e, "looks binary", "CSV")


def test_undecodable_with_forced_wrong_encoding(tmp_path):
    p = write_csv(tmp_path / "cp.csv", ROWS, "cp949")
    with pytest.raises(DataError) as e:
        load_dataset(p, encoding="utf-8")
    one_line_error(e, "cannot decode", "utf-8", "--encoding")


def test_undecodable_by_every_encoding(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(b"content,class\n\xff\xfe\xfd\xfc\x80\x80,a\n")
    with pytest.raises(DataError) as e:
        load_dataset(p)
    one_line_error(e, "cannot decode", "cp949")


@pytest.mark.parametrize("content", [b"", b"   \n\n  \r\n"])
def test_empty_file(tmp_path, content):
    p = tmp_path / "empty.csv"
    p.write_bytes(content)
    with pytest.raises(DataError) as e:
        load_dataset(p)
    one_line_error(e, "is empty")


def test_header_only(tmp_path):
    p = tmp_path / "header.csv"
    p.write_text("content,class\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_dataset(p)
    one_line_error(e, "header but no data rows")


def test_missing_text_column_lists_existing_columns(tmp_path):
    p = write_csv(tmp_path / "d.csv", ROWS, cols=("document", "class"))
    with pytest.raises(DataError) as e:
        load_dataset(p)
    one_line_error(e, "'content'", "not found", "document, class", "--text-col")


def test_both_columns_missing(tmp_path):
    p = write_csv(tmp_path / "d.csv", ROWS, cols=("a", "b"))
    with pytest.raises(DataError) as e:
        load_dataset(p)
    one_line_error(e, "'content' and 'class'", "a, b")


def test_malformed_csv(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("content,class\n가,a\n나,b,extra\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_dataset(p)
    one_line_error(e, "not a valid CSV")


def test_no_usable_rows(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("content,class\n,a\nb,\n , \n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_dataset(p)
    one_line_error(e, "no usable rows")


# --- drops, sampling -------------------------------------------------------------------------------------


def test_drop_counts(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text(
        "content,class\n"
        "가,x\n"  # kept
        "가,y\n"  # duplicate text (first kept)
        ",x\n"  # missing text
        "나,\n"  # missing label
        "다,  \n"  # blank label (stripped)
        "라, y \n"  # label stripped to 'y', kept
        "마,x\n"  # kept
        "마,x\n",  # duplicate
        encoding="utf-8",
    )
    df, report = load_dataset(p)
    assert report.rows_read == 8
    assert report.dropped_missing == 3
    assert report.dropped_duplicates == 2
    assert report.rows == 3 == len(df)
    assert df.to_dict("list") == {"text": ["가", "라", "마"], "label": ["x", "y", "x"]}


def big_frame(n_a=700, n_b=300) -> list[tuple[str, str]]:
    return [(f"문장 {i}", "a") for i in range(n_a)] + [(f"광고 {i}", "b") for i in range(n_b)]


def test_max_rows_stratified_sample(tmp_path):
    p = write_csv(tmp_path / "d.csv", big_frame())
    df, report = load_dataset(p, max_rows=100, seed=3)
    assert len(df) == report.rows == 100
    assert df["label"].value_counts().to_dict() == {"a": 70, "b": 30}
    assert report.rows_read == 1000
    again, _ = load_dataset(p, max_rows=100, seed=3)
    assert df.equals(again)
    other, _ = load_dataset(p, max_rows=100, seed=4)
    assert not df.equals(other)
    assert list(df.index) == list(range(100))
    full, _ = load_dataset(p, max_rows=5000)
    assert len(full) == 1000


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_max_rows_invalid(tmp_path, bad):
    p = write_csv(tmp_path / "d.csv", ROWS)
    with pytest.raises(ConfigError):
        load_dataset(p, max_rows=bad)


# --- labels and splits -----------------------------------------------------------------------------


def frame(counts: dict[str, int]) -> pd.DataFrame:
    rows = [(f"{label} {i}", label) for label, n in counts.items() for i in range(n)]
    return pd.DataFrame(rows, columns=["text", "label"])


def test_check_labels_ok():
    assert check_labels(frame({"spam": 5, "ham": 3})) == ["ham", "spam"]


def test_check_labels_one_class():
    with pytest.raises(DataError) as e:
        check_labels(frame({"ham": 10}), "x.csv")
    one_line_error(e, "x.csv", "only one class", "'ham'")


def test_check_labels_class_with_one_row():
    with pytest.raises(DataError) as e:
        check_labels(frame({"ham": 10, "spam": 1}))
    one_line_error(e, "'spam' has 1 row", "at least 3")
    with pytest.raises(DataError) as e:
        check_labels(frame({"ham": 10, "spam": 2, "ad": 1}))
    one_line_error(e, "'spam' has 2 rows", "'ad' has 1 row")


def test_split_default_proportions():
    df = frame({"a": 700, "b": 300})
    train, val, test = split_dataset(df)
    assert (len(train), len(val), len(test)) == (700, 150, 150)
    assert train["label"].value_counts().to_dict() == {"a": 490, "b": 210}
    assert val["label"].value_counts().to_dict() == {"a": 105, "b": 45}
    assert test["label"].value_counts().to_dict() == {"a": 105, "b": 45}
    texts = [set(x["text"]) for x in (train, val, test)]
    assert not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])
    assert set.union(*texts) == set(df["text"])


def test_split_reproducible_with_seed():
    df = frame({"a": 70, "b": 30})
    first = split_dataset(df, seed=7)
    second = split_dataset(df, seed=7)
    for x, y in zip(first, second):
        assert x.equals(y)
    assert not first[0].equals(split_dataset(df, seed=8)[0])


def test_split_custom_sizes_and_no_test():
    df = frame({"a": 80, "b": 20})
    train, val, test = split_dataset(df, val_size=0.2, test_size=0.1)
    assert (len(train), len(val), len(test)) == (70, 20, 10)
    train, val, test = split_dataset(df, val_size=0.2, test_size=0)
    assert (len(train), len(val), len(test)) == (80, 20, 0)


@pytest.mark.parametrize(
    "kw",
    [
        dict(val_size=1.0),
        dict(test_size=-0.1),
        dict(val_size=0.6, test_size=0.5),
        dict(val_size=0, test_size=0),
    ],
)
def test_split_invalid_sizes(kw):
    with pytest.raises(ConfigError):
        split_dataset(frame({"a": 50, "b": 50}), **kw)


def test_split_too_small_class():
    with pytest.raises(DataError):
        split_dataset(frame({"a": 50, "b": 2}))
