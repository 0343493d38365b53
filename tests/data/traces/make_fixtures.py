#!/usr/bin/env python3
"""Write the small .npy / .safetensors fixtures of tests/unit/test_npy.c and
tests/unit/test_safetensors.c with an implementation independent of the C
reader and of the C test writers: Python's struct (IEEE half via 'e') and
json.dumps (its default ", " / ": " separators, as safetensors' Python side
produces). Pure standard library; numpy's on-disk layout (format.py) and
safetensors' (u64 LE length, JSON, space padding to 8) are reproduced.
Values are functions of the indices, checked by the tests:
  k[b,t,h,i] = (b*100 + t*10 + h*4 + i) / 8 - 3     (exact in f16, bf16)
  g[b,t,h]   = -(b + t + h) / 16
  beta[t]    = (t + 1) / 8
Run from this directory: python3 make_fixtures.py
"""
import json
import struct

B, T, H, D = 2, 5, 3, 4


def kval(b, t, h, i):
    return (b * 100 + t * 10 + h * 4 + i) / 8 - 3


def npy(descr, shape, payload, major=1):
    dims = ", ".join(str(x) for x in shape) + ("," if len(shape) == 1 else "")
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, dims)
    pre = 10 if major == 1 else 12
    total = pre + len(header) + 1
    header += " " * ((64 - total % 64) % 64) + "\n"
    size = struct.pack("<H" if major == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([major, 0]) + size + header.encode("latin1") + payload


def bf16(x):
    raw = struct.pack("<f", x)
    assert raw[:2] == b"\0\0", x
    return raw[2:]


def safetensors(tensors, metadata):
    header, data = {"__metadata__": metadata}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def main():
    order = [(b, t, h, i) for b in range(B) for t in range(T) for h in range(H) for i in range(D)]
    gorder = [(b, t, h) for b in range(B) for t in range(T) for h in range(H)]
    # k as [B, T, H, D] little-endian f16 (format 1.0), big-endian f32 (2.0)
    with open("k_bthd_f16.npy", "wb") as f:
        f.write(npy("<f2", [B, T, H, D], b"".join(struct.pack("<e", kval(*x)) for x in order)))
    with open("k_bthd_f32be.npy", "wb") as f:
        f.write(npy(">f4", [B, T, H, D], b"".join(struct.pack(">f", kval(*x)) for x in order), 2))
    # k[b=1, :, h=2, :] as [T, D] f64 (format 3.0); gates [B, T, H] f32; beta [T] f64
    with open("k_td_f64.npy", "wb") as f:
        f.write(npy("<f8", [T, D], b"".join(struct.pack("<d", kval(1, t, 2, i))
                                            for t in range(T) for i in range(D)), 3))
    with open("g_bth_f32.npy", "wb") as f:
        f.write(npy("<f4", [B, T, H], b"".join(struct.pack("<f", -(b + t + h) / 16)
                                               for b, t, h in gorder)))
    with open("beta_t_f64.npy", "wb") as f:
        f.write(npy("<f8", [T], b"".join(struct.pack("<d", (t + 1) / 8) for t in range(T))))
    # one safetensors file: k BF16 [B,T,H,D], q F16 = -k, g F32 [B,T,H], beta F64 [T]
    tensors = [
        ("beta", "F64", [T], b"".join(struct.pack("<d", (t + 1) / 8) for t in range(T))),
        ("k", "BF16", [B, T, H, D], b"".join(bf16(kval(*x)) for x in order)),
        ("q", "F16", [B, T, H, D], b"".join(struct.pack("<e", -kval(*x)) for x in order)),
        ("g", "F32", [B, T, H], b"".join(struct.pack("<f", -(b + t + h) / 16) for b, t, h in gorder)),
    ]
    with open("trace_bthd.safetensors", "wb") as f:
        f.write(safetensors(tensors, {"format": "pt", "source": "make_fixtures.py"}))


if __name__ == "__main__":
    main()
