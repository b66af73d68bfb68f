"""Builders for content fixtures that are easier to generate than to store.

``make_pdf`` writes a minimal, valid PDF 1.4 by hand (catalog, page tree,
Helvetica text operators, info dictionary, cross-reference table), following
the PDF 1.7 reference (ISO 32000-1, sections 7.5 and 9). Page text must be
Latin-1: the standard Type 1 fonts cannot show anything else. Info values may
be any Unicode (they are written as UTF-16BE strings with a BOM).
"""

from __future__ import annotations


def pdf_string(value: str) -> bytes:
    """A PDF string object: literal for ASCII, UTF-16BE hex with a BOM otherwise."""
    if value.isascii():
        escaped = value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return b"(" + escaped.encode("ascii") + b")"
    return b"<FEFF" + value.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def make_pdf(pages: list[list[str]], *, info: dict[str, str] | None = None) -> bytes:
    """A PDF whose page ``i`` shows the lines ``pages[i]``; ``info`` becomes the
    document information dictionary (``Title``, ``Author``, ``CreationDate``...)."""
    objects: list[bytes] = []
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, lines in enumerate(pages):
        operators = [b"BT", b"/F1 12 Tf", b"14 TL", b"72 720 Td"]
        for line in lines:
            literal = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            operators.append(b"(" + literal.encode("latin-1") + b") Tj T*")
        operators.append(b"ET")
        stream = b"\n".join(operators)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    info_ref = ""
    if info:
        entries = b" ".join(b"/" + key.encode("ascii") + b" " + pdf_string(value) for key, value in info.items())
        objects.append(b"<< " + entries + b" >>")
        info_ref = f" /Info {len(objects)} 0 R"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info_ref} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
