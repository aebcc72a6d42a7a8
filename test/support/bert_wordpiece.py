"""Independent reference for BERT uncased tokenization (geoclr's tokenizer tests compare against it).

An implementation of the algorithm of the original BERT release (Devlin et al. 2019, tokenization.py's
BasicTokenizer + WordpieceTokenizer), written from its description, in plain Python with only unicodedata:

  1. clean: drop NUL, U+FFFD and control characters (Unicode category C*, except tab/newline/CR); map whitespace
     (space, tab, newline, CR, category Zs) to a space;
  2. put spaces around CJK ideographs;
  3. split on whitespace; per word: lower-case, strip accents (NFD, drop category Mn), then split every
     punctuation character into its own token (ASCII non-alphanumeric symbols and Unicode category P*);
  4. WordPiece per token: words longer than 100 characters become [UNK]; otherwise greedy longest-match-first
     against the vocabulary, with "##" before every piece that does not start the word; a word with any
     unmatched remainder becomes a single [UNK];
  5. [CLS] + ids + [SEP].

usage: python3 bert_wordpiece.py VOCAB_TXT TEXTS_JSON > ids.json   (texts: a JSON list of strings)
"""
import json
import sys
import unicodedata

MAX_CHARS_PER_WORD = 100


def is_whitespace(ch):
    return ch in (" ", "\t", "\n", "\r") or unicodedata.category(ch) == "Zs"


def is_control(ch):
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch).startswith("C")


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(cp):
    ranges = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
              (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]
    return any(lo <= cp <= hi for lo, hi in ranges)


def basic_tokens(text):
    cleaned = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or is_control(ch):
            continue
        cleaned.append(" " if is_whitespace(ch) else ch)
    spaced = []
    for ch in cleaned:
        spaced.append(" " + ch + " " if is_cjk(ord(ch)) else ch)
    words = "".join(spaced).split()
    out = []
    for word in words:
        word = word.lower()
        word = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
        current = []
        for ch in word:
            if is_punctuation(ch):
                if current:
                    out.append("".join(current))
                    current = []
                out.append(ch)
            else:
                current.append(ch)
        if current:
            out.append("".join(current))
    return out


def wordpiece(token, vocab):
    if len(token) > MAX_CHARS_PER_WORD:
        return ["[UNK]"]
    pieces = []
    start = 0
    while start < len(token):
        end = len(token)
        found = None
        while end > start:
            piece = token[start:end] if start == 0 else "##" + token[start:end]
            if piece in vocab:
                found = piece
                break
            end -= 1
        if found is None:
            return ["[UNK]"]
        pieces.append(found)
        start = end
    return pieces


def encode(text, vocab):
    tokens = ["[CLS]"]
    for word in basic_tokens(text):
        tokens.extend(wordpiece(word, vocab))
    tokens.append("[SEP]")
    return [vocab[t] for t in tokens]


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    with open(sys.argv[2], encoding="utf-8") as f:
        texts = json.load(f)
    json.dump([encode(t, vocab) for t in texts], sys.stdout)


if __name__ == "__main__":
    main()
