"""The public API of the ocr package, pinned."""

from __future__ import annotations

import dataclasses
import inspect

import ocr


def test_public_names() -> None:
    assert sorted(ocr.__all__) == ["OcrResult", "PageResult", "ocr_document"]


def test_result_fields() -> None:
    assert [f.name for f in dataclasses.fields(ocr.PageResult)] == [
        "number",
        "text",
        "confidence",
        "rotation",
        "skew",
        "source",
    ]
    assert [f.name for f in dataclasses.fields(ocr.OcrResult)] == [
        "pages",
        "searchable_pdf",
        "born_digital",
    ]


def test_ocr_document_signature() -> None:
    parameters = inspect.signature(ocr.ocr_document).parameters
    assert list(parameters)[:3] == ["path", "media_type", "workdir"]
    assert parameters["languages"].default == "eng"
    assert parameters["jobs"].default is None
    assert parameters["max_pages"].default == 200
    assert parameters["on_page"].default is None
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY
        for name, p in parameters.items()
        if name not in ("path", "media_type", "workdir")
    )
