#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (pure Python, no numpy):
small valid .npy and .safetensors files, grid files and option lists."""
import json, os, struct, math

here = os.path.dirname(os.path.abspath(__file__))

def out(target, name, data):
    with open(os.path.join(here, "corpus", target, name), "wb") as f:
        f.write(data)

def npy(descr, shape, values, version=1):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join("%d, " % s for s in shape) if len(shape) != 1 else "%d," % shape[0])
    pre = 10 if version == 1 else 12
    pad = (64 - (pre + len(header) + 1) % 64) % 64
    header = header + " " * pad + "\n"
    magic = b"\x93NUMPY" + bytes([version, 0])
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    fmt = {"<f4": "<f", ">f4": ">f", "<f8": "<d", "<f2": "<e", ">f8": ">d"}[descr]
    body = b"".join(struct.pack(fmt, v) for v in values)
    return magic + size + header.encode() + body

vals = [math.sin(i + 1) * 0.5 for i in range(64)]
out("npy", "f4_T4_D3.npy", npy("<f4", (4, 3), vals[:12]))
out("npy", "f2_T2_D4.npy", npy("<f2", (2, 4), vals[:8]))
out("npy", "f8_B1_T2_H2_D3.npy", npy("<f8", (1, 2, 2, 3), vals[:12]))
out("npy", "be_f4_T3_D2.npy", npy(">f4", (3, 2), vals[:6]))
out("npy", "v2_f8_T2_D2.npy", npy("<f8", (2, 2), vals[:4], version=2))
# keys and queries in one input, split at 0xFF 0xFE (see fuzz_npy.c)
out("npy", "keys_queries.bin", npy("<f4", (4, 3), vals[:12]) + b"\xff\xfe" + npy("<f4", (4, 3), vals[12:24]))

def bf16(v):
    return struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0])[2:]

def safetensors(tensors, meta=None):
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)

f32 = lambda vs: b"".join(struct.pack("<f", v) for v in vs)
f16 = lambda vs: b"".join(struct.pack("<e", v) for v in vs)
f64 = lambda vs: b"".join(struct.pack("<d", v) for v in vs)
gates = [-0.01 * (i + 1) for i in range(4)]
out("safetensors", "qk_f32.safetensors", safetensors([("q", "F32", (4, 3), f32(vals[:12])), ("k", "F32", (4, 3), f32(vals[12:24]))]))
out("safetensors", "qkg_bf16.safetensors", safetensors([("q", "BF16", (4, 3), b"".join(bf16(v) for v in vals[:12])), ("k", "BF16", (4, 3), b"".join(bf16(v) for v in vals[12:24])), ("g", "F32", (4,), f32(gates))], {"format": "pt"}))
out("safetensors", "qk_f16_batched.safetensors", safetensors([("q", "F16", (1, 2, 2, 3), f16(vals[:12])), ("k", "F16", (1, 2, 2, 3), f16(vals[12:24]))]))
out("safetensors", "qkb_f64.safetensors", safetensors([("q", "F64", (2, 2), f64(vals[:4])), ("k", "F64", (2, 2), f64(vals[4:8])), ("beta", "F64", (2,), f64([0.5, 0.25]))]))

out("grid", "demo.toml", b'name = "demo"\nsolver = [chebyshev, cg, kalman]\nformat = [fp64, bf16]\nridge = ["adaptive:0.02", "fixed:0.25"]\nkeys = [iid, "lowrank:4,0.01"]\nD = 16\nT = 64\nseed = [1, 2]\nevery = 16\n')
out("grid", "all_axes.toml", b'solver = agd\nvariant = ""\nformat = "custom:10,-14,15"\naccum = exact\nmode = tz\nridge = "decay:0.5"\nkeys = "expdecay:8"\ngate = "uniform:0.9,1"\nbeta = sigmoid\nD = [4, 8]\nT = 12\niters = 5\nchunk = 4\nseed = 7\nkappa_every = 3\n')
out("options", "figure.bin", b"\x01--quick\x00--seed\x0042\x00--out\x00/tmp/x\x00--threads\x002\x00--images\x00png,svg")
out("options", "names.bin", b"\x00bf16\x00e4m3\x00custom:12,-20,20\x00ne\x00wide:fp32\x00fixed:0.25\x00adaptive:0.02\x00powerlaw:1.5\x00gka\x00sigmoid:2\x00full\x00pdf")
