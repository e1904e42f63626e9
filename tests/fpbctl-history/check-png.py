#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""check-png.py PNG COLOUR=MIN...: decodes an 8-bit RGB/RGBA PNG (zlib, no
other package) and checks that it is not blank and that each COLOUR
(#rrggbb) covers at least MIN pixels (within 3 per channel). Prints what
it counted; exits 1 when a check fails."""
import struct
import sys
import zlib


def decode(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, head = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    width, height, depth, ctype, _, _, interlace = head
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {ctype}, "
                         f"interlace {interlace}")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        filt = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if filt == 1:
                line[i] = (line[i] + a) & 0xFF
            elif filt == 2:
                line[i] = (line[i] + b) & 0xFF
            elif filt == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 0xFF
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def main():
    path, wants = sys.argv[1], sys.argv[2:]
    width, height, bpp, rows = decode(path)
    counts = {}
    for line in rows:
        for i in range(0, len(line), bpp):
            px = line[i:i + 3]
            counts[px] = counts.get(px, 0) + 1
    total = width * height
    white = sum(n for px, n in counts.items() if min(px) >= 250)
    ok = True
    print(f"# {path}: {width}x{height}, {len(counts)} colours, "
          f"{100 * (total - white) / total:.1f}% not white")
    if total - white < total // 20 or len(counts) < 10:
        print("# blank: fewer than 5% of the pixels are not white")
        ok = False
    for want in wants:
        colour, minimum = want.split("=")
        rgb = bytes.fromhex(colour.lstrip("#"))
        n = sum(c for px, c in counts.items()
                if all(abs(px[k] - rgb[k]) <= 3 for k in range(3)))
        print(f"# {colour}: {n} pixels (at least {minimum})")
        ok &= n >= int(minimum)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
