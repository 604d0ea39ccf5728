"""Ways to alter an issued report PDF, as a forger would, with pypdf."""

from __future__ import annotations

import re
from io import BytesIO

from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, TextStringObject


def _save(writer: PdfWriter) -> bytes:
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def edit_text(pdf: bytes, page: int) -> bytes:
    """Swap two glyphs in the first multi-glyph text string of a page (e.g. "Intended" → "Itnended")."""
    writer = PdfWriter(clone_from=PdfReader(BytesIO(pdf)))
    contents = writer.pages[page]["/Contents"].get_object()
    data = contents.get_data()
    for match in re.finditer(rb"<([0-9a-f]{8,})>", data):
        glyphs = [match.group(1)[i : i + 4] for i in range(0, len(match.group(1)), 4)]
        if glyphs[0] != glyphs[1]:
            swapped = b"".join([glyphs[1], glyphs[0], *glyphs[2:]])
            data = data[: match.start(1)] + swapped + data[match.end(1) :]
            break
    contents.set_data(data)
    return _save(writer)


def replace_attachment(pdf: bytes, name: str, old: bytes, new: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(BytesIO(pdf)))
    names = writer.root_object["/Names"]["/EmbeddedFiles"]["/Names"]
    for i in range(0, len(names), 2):
        if names[i] == name:
            stream = names[i + 1].get_object()["/EF"]["/F"].get_object()
            stream.set_data(stream.get_data().replace(old, new))
    return _save(writer)


def set_metadata(pdf: bytes, key: str, value: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(BytesIO(pdf)))
    writer.add_metadata({NameObject(key): TextStringObject(value)})
    return _save(writer)
