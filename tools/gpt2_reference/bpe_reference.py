#!/usr/bin/env python3
"""GPT-2 byte-level BPE, written from the published algorithm (OpenAI's gpt-2 `src/encoder.py`, 2019):
pre-tokenize with GPT-2's pattern, map each word's UTF-8 bytes to printable characters (bytes_to_unicode),
then repeatedly merge the adjacent pair with the lowest rank in merges.txt.

It is the independent reference for Reinforce's tokenizer tests: given a folder with vocab.json + merges.txt it
encodes a fixed list of strings and writes {"folder": ..., "cases": [{"text", "ids"}]} as JSON.

    python3 tools/gpt2_reference/bpe_reference.py FOLDER OUT.json

Needs the `regex` module (Debian: python3-regex) for \\p{L} and \\p{N}.
"""
import json
import sys

import regex as re

PATTERN = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

CASES = [
    "Hello world",
    " Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "I'm testing: 3.14, don't split weirdly!",
    "Once upon a time, there was a little girl named Lily.\nShe liked to play.",
    "  two spaces,\ta tab, Hebrew שלום and trailing spaces   ",
    "naïve café — déjà vu; 東京 and emoji 🙂!",
    "x = [i*i for i in range(10)]  # squares",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "12345678901234567890",
]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def bpe(word, ranks):
    parts = list(word)
    while len(parts) > 1:
        pairs = [(ranks.get((parts[i], parts[i + 1]), float("inf")), i) for i in range(len(parts) - 1)]
        rank, first = min(pairs)
        if rank == float("inf"):
            break
        pair = (parts[first], parts[first + 1])
        merged, i = [], 0
        # Merge every occurrence of the best pair, left to right (as encoder.py does).
        while i < len(parts):
            if i < len(parts) - 1 and (parts[i], parts[i + 1]) == pair:
                merged.append(parts[i] + parts[i + 1])
                i += 2
            else:
                merged.append(parts[i])
                i += 1
        parts = merged
    return parts


def main():
    folder, out = sys.argv[1], sys.argv[2]
    with open(f"{folder}/vocab.json", encoding="utf-8") as f:
        vocab = json.load(f)
    with open(f"{folder}/merges.txt", encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.rstrip("\n") and not l.startswith("#version")]
    ranks = {tuple(l.split(" ")): i for i, l in enumerate(lines)}
    byte_chars = bytes_to_unicode()
    cases = []
    for text in CASES:
        ids = []
        for word in PATTERN.findall(text):
            printable = "".join(byte_chars[b] for b in word.encode("utf-8"))
            ids.extend(vocab[p] for p in bpe(printable, ranks))
        cases.append({"text": text, "ids": ids})
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"generator": "tools/gpt2_reference/bpe_reference.py (GPT-2 encoder.py algorithm)", "vocab_size": len(vocab), "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
