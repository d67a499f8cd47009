#!/usr/bin/env python3
"""Writes `<file>.header.txt` beside every FITS file under the given directories
(default: testdata/) that has none: every HDU header, one 80-character card per
line, in the layout of scripts/make_testdata.py's astropy dumps
(`# HDU i: <kind> name='<EXTNAME>'`, then the cards without END).

Plain Python (no astropy), so it also reads files whose data are cut short on
purpose (truncated products): only the headers are needed, and the data sizes
come from NAXISn/BITPIX/PCOUNT/GCOUNT as the FITS standard defines them.

usage: python3 scripts/dump_headers.py [--force] [DIR...]
"""
import gzip
import sys
from pathlib import Path

BLOCK = 2880


def cards_of(raw: bytes, start: int):
    """The cards of the header at `start` and the offset just past its last block."""
    cards = []
    at = start
    while at + BLOCK <= len(raw):
        block = raw[at:at + BLOCK]
        at += BLOCK
        for i in range(0, BLOCK, 80):
            card = block[i:i + 80].decode("ascii", "replace")
            if card.startswith("END") and card[3:].strip() == "":
                return cards, at
            cards.append(card)
    return None, at


def value(cards, key, default=0):
    for card in cards:
        if card[:8].rstrip() == key and card[8:10] == "= ":
            text = card[10:].split("/")[0].strip()
            try:
                return int(text)
            except ValueError:
                return text.strip("'").strip()
    return default


def dump(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    parts, at, index = [], 0, 0
    while at < len(raw):
        cards, end = cards_of(raw, at)
        if cards is None:
            break
        if index == 0:
            kind, name = "PrimaryHDU", "PRIMARY"
        else:
            xtension = value(cards, "XTENSION", "")
            kind = {"BINTABLE": "BinTableHDU", "TABLE": "TableHDU"}.get(xtension, "ImageHDU")
            name = value(cards, "EXTNAME", "")
        parts.append(f"# HDU {index}: {kind} name={name!r}")
        parts.extend(cards)
        naxis = value(cards, "NAXIS")
        size = 0
        if naxis:
            size = 1
            for n in range(1, naxis + 1):
                size *= value(cards, f"NAXIS{n}")
        size = abs(value(cards, "BITPIX", 8)) // 8 * value(cards, "GCOUNT", 1) * (size + value(cards, "PCOUNT"))
        at = end + (size + BLOCK - 1) // BLOCK * BLOCK
        index += 1
    if not parts:
        raise ValueError("no FITS header")
    return "\n".join(parts) + "\n"


def main(argv):
    force = "--force" in argv
    dirs = [Path(a) for a in argv if a != "--force"] or [Path(__file__).resolve().parent.parent / "testdata"]
    written = 0
    for top in dirs:
        for path in sorted(top.rglob("*")):
            if not (path.name.endswith(".fits") or path.name.endswith(".fits.gz")) or not path.is_file():
                continue
            out = path.with_name(path.name + ".header.txt")
            if out.exists() and not force:
                continue
            out.write_text(dump(path))
            written += 1
            print(f"wrote {out}")
    print(f"{written} header dump(s) written")


if __name__ == "__main__":
    main(sys.argv[1:])
