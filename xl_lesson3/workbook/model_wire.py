"""A `WorkbookModel` as bytes and back, without pickle: how a load done in a second process
reaches the first (`load_aside`).

The model is plain data: names, tables, array formulas, settings, and columns of cells. The
bytes are a JSON header (orjson) followed by binary blobs: row numbers as int64 arrays, columns
whose values are all floats as float64 arrays, other values and formula texts as JSON lists. A
column that repeats one formula text (a table's calculated column) sends the distinct texts once
and an index. JSON cannot say an Excel error, a NaN or an integer beyond 64 bits, so those go as
fix-ups beside their list; a value of any other type raises `TypeError` (the caller then loads
in its own process). Decoding gives back the same values, of the same types.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from xl_lesson3.formula.scalars import ErrorCode, ExcelError
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.columns import CellStore, ColumnCells
from xl_lesson3.workbook.model import (
    ArrayFormula,
    CalcSettings,
    DefinedName,
    Table,
    WorkbookModel,
)
from xl_lesson3.workbook.sheet_layout import SheetLayout

MAGIC = b"XL3MODL1"
_LENGTH = struct.Struct("<Q")
_PLAIN = (str, bool, type(None))  # JSON says these exactly
_JSON_TYPES = (*_PLAIN, float, int)  # and these, when finite and within 64 bits
_INT64 = 1 << 63
# WorkbookModel's fields this codec writes; a new field must be added here and below.
FIELDS = (
    "sheet_names",
    "cells",
    "tables",
    "defined_names",
    "array_formulas",
    "source_path",
    "date1904",
    "calc",
    "character_set",
    "array_cached_values",
    "partial",
    "layouts",
)


class WireError(ValueError):
    """The bytes are not a model this codec wrote."""


def encode(model: WorkbookModel) -> list[bytes]:
    """The model as a list of byte strings to write one after the other."""
    names = {f.name for f in dataclasses.fields(model)}
    if names != set(FIELDS):
        raise TypeError(
            f"model_wire does not know the model's fields {sorted(names ^ set(FIELDS))}"
        )
    blobs: list[bytes] = []
    store: CellStore = model.cells  # type: ignore[assignment]  # the model's __post_init__
    header = {
        "sheet_names": list(model.sheet_names),
        "formulas": [_column(c, blobs) for c in store.formulas.values()],
        "values": [_column(c, blobs) for c in store.values.values()],
        "tables": [_table(t) for t in model.tables.values()],
        "defined_names": [[n.name, n.text, n.scope, n.hidden] for n in model.defined_names],
        "array_formulas": [
            [_cell(at), _range(a.ref), a.text, a.dynamic] for at, a in model.array_formulas.items()
        ],
        "array_cached": _cached(model.array_cached_values),
        "source_path": None if model.source_path is None else str(model.source_path),
        "date1904": model.date1904,
        "calc": [model.calc.iterate, model.calc.iterate_count, model.calc.iterate_delta],
        "character_set": model.character_set,
        "partial": model.partial,
        "layouts": {name: _layout(layout, blobs) for name, layout in model.layouts.items()},
        "blobs": [len(b) for b in blobs],
    }
    head = orjson.dumps(header)
    return [MAGIC, _LENGTH.pack(len(head)), head, *blobs]


def decode(data: bytes | memoryview) -> WorkbookModel:
    """The model `encode` wrote into `data`; WireError when `data` is not one."""
    try:
        return _decode(memoryview(data))
    except WireError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, struct.error) as exc:
        raise WireError(f"model_wire: not a model ({type(exc).__name__}: {exc})") from exc


def _decode(view: memoryview) -> WorkbookModel:
    if bytes(view[: len(MAGIC)]) != MAGIC or len(view) < len(MAGIC) + _LENGTH.size:
        raise WireError("not a model written by model_wire")
    at = len(MAGIC) + _LENGTH.size
    (size,) = _LENGTH.unpack(view[len(MAGIC) : at])
    header = orjson.loads(view[at : at + size])
    at += size
    blobs = []
    for length in header["blobs"]:
        blobs.append(view[at : at + length])
        at += length
    if at != len(view):
        raise WireError(f"model_wire: {len(view) - at} bytes left over (or missing)")
    formulas = {(c["sheet"], c["col"]): _column_back(c, blobs) for c in header["formulas"]}
    values = {(c["sheet"], c["col"]): _column_back(c, blobs) for c in header["values"]}
    path = header["source_path"]
    return WorkbookModel(
        tuple(header["sheet_names"]),
        CellStore(formulas, values),
        {t[0]: _table_back(t) for t in header["tables"]},
        tuple(DefinedName(*n) for n in header["defined_names"]),
        {
            CellAddress(*at): ArrayFormula(RangeAddress(*ref), text, dynamic)
            for at, ref, text, dynamic in header["array_formulas"]
        },
        source_path=None if path is None else Path(path),
        date1904=header["date1904"],
        calc=CalcSettings(*header["calc"]),
        character_set=header["character_set"],
        array_cached_values=_cached_back(header["array_cached"]),
        partial=header["partial"],
        layouts={name: _layout_back(spec, blobs) for name, spec in header["layouts"].items()},
    )


# -- columns ------------------------------------------------------------------------------------
def _column(column: ColumnCells, blobs: list[bytes]) -> dict[str, Any]:
    out: dict[str, Any] = {"sheet": column.sheet, "col": column.col}
    out["rows"] = _blob(blobs, np.asarray(column.rows, np.int64).tobytes())
    values = column.values
    if values and set(map(type, values)) == {float}:
        numbers = np.asarray(values, np.float64)
        if np.isfinite(numbers).all():
            out["floats"] = _blob(blobs, numbers.tobytes())
    if "floats" not in out:
        data, fixes = _json_values(values)
        out["values"] = _blob(blobs, data)
        out["fixes"] = fixes
    if column.formulas is not None:
        texts = column.formulas
        sample = texts[:: max(1, len(texts) // 64)]  # distinct texts are sought only when
        distinct = list(dict.fromkeys(texts)) if len(set(sample)) * 2 <= len(sample) else texts
        if len(distinct) * 2 <= len(texts):  # a sample repeats itself
            index = {text: i for i, text in enumerate(distinct)}
            positions = np.fromiter(map(index.__getitem__, texts), np.int32, len(texts))
            out["texts"] = _blob(blobs, orjson.dumps(distinct))
            out["text_index"] = _blob(blobs, positions.tobytes())
        else:
            out["formulas"] = _blob(blobs, orjson.dumps(texts))
    return out


def _column_back(spec: dict[str, Any], blobs: list[memoryview]) -> ColumnCells:
    rows = np.frombuffer(blobs[spec["rows"]], np.int64).tolist()
    if "floats" in spec:
        values = np.frombuffer(blobs[spec["floats"]], np.float64).tolist()
    else:
        values = _json_values_back(orjson.loads(blobs[spec["values"]]), spec["fixes"])
    formulas = None
    if "texts" in spec:
        distinct = orjson.loads(blobs[spec["texts"]])
        index = np.frombuffer(blobs[spec["text_index"]], np.int32).tolist()
        formulas = list(map(distinct.__getitem__, index))
    elif "formulas" in spec:
        formulas = orjson.loads(blobs[spec["formulas"]])
    if len(values) != len(rows) or (formulas is not None and len(formulas) != len(rows)):
        raise WireError(f"model_wire: column {spec['sheet']}!{spec['col']} lengths differ")
    return ColumnCells(spec["sheet"], spec["col"], rows, values, formulas)


def _blob(blobs: list[bytes], data: bytes) -> int:
    blobs.append(data)
    return len(blobs) - 1


# -- values -------------------------------------------------------------------------------------
def _json_values(values: list[Any]) -> tuple[Any, list[list[Any]]]:
    """`values` as JSON bytes (or a list), with what JSON cannot say replaced by None, and the
    fix-ups that restore it. Checked in bulk; the per-value loop only when something needs it."""
    kinds = set(map(type, values))
    if kinds <= set(_JSON_TYPES):
        try:
            data = orjson.dumps(values)
        except orjson.JSONEncodeError:  # an integer beyond 64 bits
            pass
        else:
            # NaN and infinities come out as null: with none, the nulls are the Nones (a "null"
            # inside a string only makes this fail and take the loop)
            if float not in kinds or data.count(b"null") == values.count(None):
                return data, []
    listed = list(values)
    fixes: list[list[Any]] = []
    for i, value in enumerate(values):
        kind = type(value)
        if kind in _PLAIN:
            continue
        if kind is float:
            if not math.isfinite(value):
                fixes.append([i, "float", repr(value)])
                listed[i] = None
        elif kind is int:
            if not -_INT64 <= value < _INT64:
                fixes.append([i, "int", str(value)])
                listed[i] = None
        elif kind is ExcelError:
            fixes.append([i, "error", int(value.code)])
            listed[i] = None
        else:
            raise TypeError(f"model_wire cannot send a cell value of type {kind.__name__}")
    return orjson.dumps(listed), fixes


def _json_values_back(listed: list[Any], fixes: Iterable[list[Any]]) -> list[Any]:
    for i, kind, payload in fixes:
        if kind == "float":
            listed[i] = float(payload)
        elif kind == "int":
            listed[i] = int(payload)
        elif kind == "error":
            listed[i] = ExcelError(ErrorCode(payload))
        else:
            raise WireError(f"model_wire: unknown fix-up {kind!r}")
    return listed


def _cached(values: Any) -> dict[str, Any]:
    cells = list(values)
    data, fixes = _json_values([values[c] for c in cells])
    return {"cells": [_cell(c) for c in cells], "values": orjson.Fragment(data), "fixes": fixes}


def _cached_back(spec: dict[str, Any]) -> dict[CellAddress, Any]:
    values = _json_values_back(spec["values"], spec["fixes"])
    return {CellAddress(*c): v for c, v in zip(spec["cells"], values, strict=True)}


# -- layouts ------------------------------------------------------------------------------------
def _layout(layout: SheetLayout, blobs: list[bytes]) -> dict[str, Any]:
    arrays = {}
    for name in SheetLayout.ARRAYS:
        array = getattr(layout, name)
        arrays[name] = [array.dtype.str, _blob(blobs, array.tobytes())]
    return {
        "identity": [layout.part, layout.crc, layout.file_size, layout.compress_size],
        "arrays": arrays,
        "attr_texts": [_blob(blobs, text) for text in layout.attr_texts],
    }


def _layout_back(spec: dict[str, Any], blobs: list[memoryview]) -> SheetLayout:
    arrays = {
        name: np.frombuffer(blobs[at], np.dtype(dtype))
        for name, (dtype, at) in spec["arrays"].items()
    }
    if sorted(arrays) != sorted(SheetLayout.ARRAYS) or len({len(a) for a in arrays.values()}) > 1:
        raise WireError("model_wire: a sheet layout's arrays are missing or of unequal lengths")
    texts = tuple(bytes(blobs[at]) for at in spec["attr_texts"])
    return SheetLayout(*spec["identity"], **arrays, attr_texts=texts)


# -- small parts --------------------------------------------------------------------------------
def _cell(cell: CellAddress) -> list[Any]:
    return [cell.sheet, cell.row, cell.col]


def _range(ref: RangeAddress) -> list[Any]:
    return [ref.sheet, ref.min_row, ref.min_col, ref.max_row, ref.max_col]


def _table(table: Table) -> list[Any]:
    return [
        table.name,
        _range(table.ref),
        list(table.columns),
        table.header_row_count,
        table.totals_row_count,
    ]


def _table_back(spec: list[Any]) -> Table:
    name, ref, columns, headers, totals = spec
    return Table(name, RangeAddress(*ref), tuple(columns), headers, totals)
