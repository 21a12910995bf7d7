"""Reading corpora: vocabulary, compact ids, Unicode, and the errors users see."""

import pytest
import torch

from rnnlab.data import (
    UNK_DISPLAY,
    Vocab,
    build_vocab,
    corpus_from_text,
    count_chars,
    default_corpus_path,
    iter_text,
    list_text_files,
    load_corpus,
)
from rnnlab.errors import UserError


def test_vocab_round_trip_any_script():
    text = "hello, 世界! ñandú 🙂\n"
    c = corpus_from_text(text)
    assert c.vocab.chars == tuple(sorted(set(text)))
    assert c.vocab.decode(c.ids.tolist()) == text
    assert c.ids.dtype == torch.uint8  # compact: few symbols


def test_ids_match_naive_encoding(tmp_path):
    text = "abcabd\nzz€" * 1000
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    c = load_corpus([tmp_path / "a.txt"])
    stoi = {ch: i for i, ch in enumerate(sorted(set(text)))}
    assert c.ids.tolist() == [stoi[ch] for ch in text]


def test_chunked_decoding_splits_multibyte_characters(tmp_path):
    text = "é中🙂" * 5000  # 2-, 3- and 4-byte characters across every chunk boundary
    p = tmp_path / "u.txt"
    p.write_text(text, encoding="utf-8")
    assert "".join(iter_text(p, chunk_bytes=7)) == text
    assert load_corpus([p]).vocab.decode(load_corpus([p]).ids.tolist()) == text


def test_min_count_maps_rare_characters_to_unknown():
    c = corpus_from_text("aaaabbbbc", min_count=2)
    assert c.vocab.unk == 0 and c.vocab.chars[0] == UNK_DISPLAY
    assert "c" not in c.vocab.chars
    assert c.vocab.decode(c.ids.tolist()) == "aaaabbbb" + UNK_DISPLAY
    assert c.n_unknown == 1


def test_encode_without_unknown_symbol_drops_and_counts():
    v = Vocab(("a", "b"))
    ids, unknown = v.encode("abxa")
    assert ids.tolist() == [0, 1, 0] and unknown == 1
    assert v.unknown_chars("axyx") == ["x", "y"]


def test_large_vocabulary_uses_wider_ids():
    text = "".join(chr(0x4E00 + i) for i in range(300))
    c = corpus_from_text(text)
    assert c.ids.dtype == torch.int16
    assert c.vocab.decode(c.ids.tolist()) == text


def test_folder_is_read_recursively_in_sorted_order_skipping_binaries(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.txt").write_text("two")
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "b" / "1.md").write_text("three")
    (tmp_path / "img.bin").write_bytes(b"\x89PNG\x00\x00\x01")
    files, skipped = list_text_files([tmp_path])
    assert [f.name for f in files] == ["a.txt", "1.md", "2.txt"]
    assert skipped == 1
    c = load_corpus([tmp_path])
    assert c.vocab.decode(c.ids.tolist()) == "onethreetwo"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"\x7fELF\x00\x00\x00"), "binary"),
        (lambda p: p.write_bytes(b"good text \xff\xfe more"), "offset 10"),
    ],
    ids=["missing", "empty", "binary", "invalid-utf8"],
)
def test_bad_files_are_clear_errors(tmp_path, make, message):
    p = tmp_path / "corpus.txt"
    make(p)
    with pytest.raises(UserError, match=message):
        load_corpus([p])


def test_invalid_utf8_offset_is_exact_across_chunks(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes("é".encode() * 100 + b"\xc3(" + b"x" * 50)
    with pytest.raises(UserError, match="offset 200"):
        list(iter_text(p, chunk_bytes=3))


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(UserError, match="no text files"):
        load_corpus([tmp_path])


def test_count_chars_matches_counter():
    from collections import Counter

    text = "mississippi 密西西比"
    counts = count_chars([text])
    for ch, n in Counter(text).items():
        assert int(counts[ord(ch)]) == n
    assert build_vocab(counts).chars == tuple(sorted(set(text)))


def test_default_corpus_ships_with_the_package():
    p = default_corpus_path()
    assert p.is_file() and 800_000 < p.stat().st_size < 1_600_000
    assert (p.parent / "SOURCE.md").is_file()
