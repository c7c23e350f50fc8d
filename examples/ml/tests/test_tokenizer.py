from tinyml.data import UNK, CharTokenizer


def test_round_trip():
    tok = CharTokenizer("abcdefghijklmnopqrstuvwxyz ")
    assert tok.decode(tok.encode("hello world")) == "hello world"


def test_unknown_characters_are_unk():
    tok = CharTokenizer("ab")
    assert tok.encode("abz") == [1, 2, UNK]
    assert tok.decode([1, UNK, 2]) == "a?b"


def test_vocab_counts_unk_and_each_character_once():
    tok = CharTokenizer("abca")
    assert tok.vocab == 4
    assert tok.encode("cab") == [3, 1, 2]


def test_ids_fit_an_embedding():
    tok = CharTokenizer("xyz")
    assert max(tok.encode("zzz")) < tok.vocab
