#!/usr/bin/env python3
"""Reference side of tests/unit/test_sweep_toml.c.

    tomllib_dump.py generate DIR N SEED   write N documents DIR/gen_NNNN.toml
    tomllib_dump.py dump FILE...          one line per file: OK <dump> | ERR | SKIP

A document is generated from TOML fragments of the types a grid uses, then
mutated (characters inserted, deleted, lines doubled or swapped), so that
about half of the corpus is invalid. The dump is a canonical text form of the
parsed document that the C test prints the same way: tables {hexkey=v,...}
with keys sorted by their UTF-8 bytes, arrays [v,...], strings s<hex of
UTF-8>, integers i<decimal>, floats f<16 hex digits of the IEEE bits> (NaN:
fnan / f-nan), booleans b0 / b1. Dates and times and integers outside 64 bits
are not grid values (gka refuses them): such documents print SKIP.
"""
import math
import os
import random
import struct
import sys
import tomllib


class Skip(Exception):
    pass


def dump(v):
    if isinstance(v, bool):
        return "b1" if v else "b0"
    if isinstance(v, int):
        if not -(2**63) <= v < 2**63:
            raise Skip()
        return "i%d" % v
    if isinstance(v, float):
        if math.isnan(v):
            return "f-nan" if math.copysign(1.0, v) < 0 else "fnan"
        return "f%016x" % struct.unpack("<Q", struct.pack("<d", v))[0]
    if isinstance(v, str):
        return "s" + v.encode("utf-8").hex()
    if isinstance(v, list):
        return "[" + ",".join(dump(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-8"))
        return "{" + ",".join(k.encode("utf-8").hex() + "=" + dump(v[k]) for k in keys) + "}"
    raise Skip()


VALUES = [
    "1", "-17", "+3", "0", "1_000", "0xdead_BEEF", "0o755", "0b1101", "3.14", "-0.0",
    "1e10", "6.02E+23", "1_0.5_5e-0_3", "inf", "-inf", "nan", "+nan", "true", "false",
    '"plain"', '"esc \\t \\" \\\\ \\u00e9 \\U0001F600"', "'lit \\no'",
    '"""\nml \\\n   cont"""', "'''\nraw\nlines'''", "[]", "[1, 2, 3,]",
    '[\n  "a", # c\n  "b"\n]', '[[1], ["x"]]', "{}", '{a = 1, b.c = "x"}', '""', "''",
    '"""a""""', "'''b'''''", '"\\u0000"', '"caf\u00e9"', "9223372036854775807",
    "-9223372036854775808", "1e400", "0.1",
]
KEYS = ["a", "b-c", "_d", '"quoted key"', "'lit key'", "x.y", "x . z", '"a.b"', "1234",
        "D", "solver", '""', "t.v"]
HEADERS = ["[t]", "[t.u]", '[ "q" . r ]', "[[arr]]", "[[arr.sub]]", "[x]", "[x.y.w]", "[a]"]
NOISE = "\"'=[]{},.#\n \t\\x_0e+-:\r"


def document(rng):
    lines = []
    for _ in range(rng.randint(1, 8)):
        r = rng.random()
        if r < 0.6:
            lines.append("%s = %s" % (rng.choice(KEYS), rng.choice(VALUES)))
        elif r < 0.8:
            lines.append(rng.choice(HEADERS))
        elif r < 0.9:
            lines.append("# comment %d" % rng.randint(0, 99))
        else:
            lines.append("")
    text = "\n".join(lines) + rng.choice(["\n", "", "\r\n", "  # end\n"])
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        op = rng.random()
        i = rng.randrange(len(text) + 1)
        if op < 0.4:
            text = text[:i] + rng.choice(NOISE) + text[i:]
        elif op < 0.7 and text:
            text = text[:i] + text[i + 1:]
        else:
            ls = text.split("\n")
            j = rng.randrange(len(ls))
            if rng.random() < 0.5:
                ls.insert(j, ls[j])
            else:
                k = rng.randrange(len(ls))
                ls[j], ls[k] = ls[k], ls[j]
            text = "\n".join(ls)
    return text


def main():
    if sys.argv[1] == "generate":
        out, n, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        rng = random.Random(seed)
        for i in range(n):
            with open(os.path.join(out, "gen_%04d.toml" % i), "wb") as f:
                f.write(document(rng).encode("utf-8"))
        return
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            data = f.read()
        try:
            print("OK " + dump(tomllib.loads(data.decode("utf-8"))))
        except Skip:
            print("SKIP")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            print("ERR")


if __name__ == "__main__":
    main()
