"""A chunk of ``<sheetData>`` tokenised and checked with numpy: no Python step per cell or tag.

`xlsx_fastscan` matches each ``<c>`` element with a regular expression and makes ~5 Python
objects per cell (a tuple and its byte strings); with expat's well-formedness pass before it,
that was most of a 100k-row sheet's read. Here the chunk is one uint8 array: every ``<`` and
``>`` is found at once, each tag is classified by its first eight bytes (read as one integer),
and the file's structure is checked as a whole:

- every tag is one of the forms Excel and openpyxl write inside ``<sheetData>`` (rows; cells
  with ``r`` first; ``<f>``, ``<v>``, ``<is><t>``), its attributes well-formed (checked once per
  distinct attribute text, duplicates refused);
- the tag sequence follows the grammar ``row (c (f? v? is? /c))* /row``, checked as allowed
  pairs of neighbouring tags (the grammar's state is the last tag, so this is the whole check);
- text appears only inside ``<f>``, ``<v>`` and ``<t>`` (whitespace elsewhere); no control
  characters, no malformed entity references, no ``]]>``, comments, CDATA or processing
  instructions; valid UTF-8.

That is what expat proved before (well-formed, no DTD: the prolog is outside the chunk and the
rest of the part still goes through expat, `xlsx_columnar`), for the subset of XML handled here.
Anything else raises `NotCanonical` and the sheet goes to the next reader. Cells come out as
arrays: row, column, attribute-text id, and the byte spans of their formula, value and inline
string texts.
"""

from __future__ import annotations

import re

import numpy as np

from xl_lesson3.workbook.xlsx_fastscan import NotCanonical

# Tag kinds. Order matters only for the grammar table below.
(ROW, ROW_END, ROW_EMPTY, C, C_END, C_EMPTY, F, F_END, F_EMPTY, V, V_END, V_EMPTY) = range(12)
IS, IS_END, T, T_END, T_EMPTY, FA, FA_EMPTY = range(12, 19)  # FA: <f ...> with attributes
_KINDS = 19
_FIXED = {  # tags written exactly so
    b"<row>": ROW,
    b"<row/>": ROW_EMPTY,
    b"</row>": ROW_END,
    b"</c>": C_END,
    b"<f>": F,
    b"</f>": F_END,
    b"<f/>": F_EMPTY,
    b"<f />": F_EMPTY,
    b"<v>": V,
    b"</v>": V_END,
    b"<v/>": V_EMPTY,
    b"<v />": V_EMPTY,
    b"<is>": IS,
    b"</is>": IS_END,
    b"<t>": T,
    b"</t>": T_END,
    b"<t/>": T_EMPTY,
}
_PRESERVE = {b'<t xml:space="preserve">': T, b'<v xml:space="preserve">': V}  # 24 bytes each
_PRESERVE_LEN = 24
_FOLLOWS = {  # kind → the kinds that may come next
    ROW: (C, C_EMPTY, ROW_END),
    ROW_END: (ROW, ROW_EMPTY),
    ROW_EMPTY: (ROW, ROW_EMPTY),
    C: (F, F_EMPTY, FA, FA_EMPTY, V, V_EMPTY, IS, C_END),
    C_END: (C, C_EMPTY, ROW_END),
    C_EMPTY: (C, C_EMPTY, ROW_END),
    F: (F_END,),
    FA: (F_END,),
    F_END: (V, V_EMPTY, IS, C_END),
    F_EMPTY: (V, V_EMPTY, IS, C_END),
    FA_EMPTY: (V, V_EMPTY, IS, C_END),
    V: (V_END,),
    V_END: (IS, C_END),
    V_EMPTY: (IS, C_END),
    IS: (T, T_EMPTY),
    T: (T_END,),
    T_END: (IS_END,),
    T_EMPTY: (IS_END,),
    IS_END: (C_END,),
}
_ALLOWED = np.zeros((_KINDS, _KINDS), bool)
for _kind, _nexts in _FOLLOWS.items():
    _ALLOWED[_kind, list(_nexts)] = True
_TEXT_AFTER = np.zeros(_KINDS, bool)  # kinds whose element holds text
_TEXT_AFTER[[F, FA, V, T]] = True

_ENTITY_OK = rb"&(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});"
_BAD_ENTITY = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});)")
_CHARACTER_REF = re.compile(rb"&#(x[0-9a-fA-F]{1,6}|[0-9]{1,7});")
_VALUE = rb'"[^"<&]*(?:' + _ENTITY_OK + rb'[^"<&]*)*"'
_NAME = rb"[A-Za-z_][A-Za-z0-9_.:-]*"
_ATTR = re.compile(rb" (" + _NAME + rb")=(" + _VALUE + rb")")
_ATTRS = re.compile(rb"(?: " + _NAME + rb"=" + _VALUE + rb")*")
MAX_TAIL = 40  # bytes of a cell's attributes after r="..." handled here (Excel's: ~20)
_TAIL_WORDS = MAX_TAIL // 8
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5,
                 0x85EBCA77C2B2AE63], dtype=np.uint64)  # fmt: skip


def _key(raw: bytes) -> int:
    return int.from_bytes(raw[:8].ljust(8, b"\0"), "little")


_NAMED_BY_LENGTH = {  # the named references by length: (their keys, their names)
    length: (np.array([_key(f"&{name};".encode()) for name in names], np.uint64), names)
    for length, names in ((4, ("lt", "gt")), (5, ("amp",)), (6, ("quot", "apos")))
}
_FIXED_ORDER = sorted((_key(raw), len(raw), kind) for raw, kind in _FIXED.items())
_FIXED_KEYS = np.array([key for key, _, _ in _FIXED_ORDER], np.uint64)  # sorted, all distinct
_FIXED_LENGTHS = np.array([length for _, length, _ in _FIXED_ORDER], np.int64)
_FIXED_KINDS = np.array([kind for _, _, kind in _FIXED_ORDER], np.int8)
_C_PREFIX, _ROW_PREFIX, _F_PREFIX = _key(b'<c r="'), _key(b"<row "), _key(b"<f ")
_ROW_R = np.uint64(_key(b'<row r="'))


def _xml_character(ref: bytes) -> bool:
    """A character reference's code point is one XML 1.0 allows."""
    code = int(ref[1:], 16) if ref.startswith(b"x") else int(ref)
    return (
        code in (9, 10, 13)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


class Chunk:
    """A chunk's bytes as a zero-padded uint8 array, with unaligned 8-byte reads."""

    def __init__(self, data: bytes) -> None:
        padded = data + b"\0" * 64
        self.data = data
        # the named references the chunk holds, once `check` found it holds no other; else None
        self.entities: frozenset[str] | None = None
        self.bytes = np.frombuffer(padded, np.uint8)
        self.size = len(data)
        # every byte offset as the start of a little-endian uint64 (an unaligned strided view:
        # one gather reads 8 bytes at any positions)
        self._words = np.ndarray((len(data) + 56,), "<u8", padded, 0, (1,))

    def word(self, pos: np.ndarray) -> np.ndarray:
        """The 8 bytes at each position of `pos`, little-endian, as uint64."""
        return self._words[pos]

    def window(self, pos: np.ndarray, n_words: int) -> np.ndarray:
        """(len(pos), 8 * n_words) bytes starting at each position (a new array)."""
        words = np.empty((len(pos), n_words), "<u8")
        for k in range(n_words):
            words[:, k] = self._words[pos + 8 * k]
        return words.view(np.uint8).reshape(len(pos), 8 * n_words)


_BYTE_MASKS = np.array(
    [(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], np.uint64
)  # [k]: the low k bytes


def masked(words: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Keep only the first `length` bytes (0..8) of each little-endian word."""
    return words & _BYTE_MASKS[np.clip(length, 0, 8)]


class Tokens:
    """A checked chunk: its tags (`start`, `end` positions of ``<`` and ``>``, `kind`)."""

    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk
        array = chunk.bytes[: chunk.size]
        self.start = np.flatnonzero(array == 60)  # '<'
        self.closers = self.end = np.flatnonzero(array == 62)  # every '>', text's too
        if len(self.start) != len(self.end):  # a '>' in text: pair each '<' with the next '>'
            after = np.searchsorted(self.end, self.start)
            if len(after) and int(after[-1]) >= len(self.end):
                raise NotCanonical  # a '<' never closed
            self.end = self.end[after]
        self.length = self.end - self.start + 1
        if len(self.start) and int(self.length.min()) < 2:
            raise NotCanonical  # a '>' before its '<'
        self.gap = self.start[1:] - self.end[:-1] - 1  # bytes between neighbouring tags
        if len(self.gap) and int(self.gap.min()) < 0:
            raise NotCanonical  # a '<' inside a tag
        self.kind = self._kinds()

    def _kinds(self) -> np.ndarray:
        key = masked(self.chunk.word(self.start), self.length)
        at = np.minimum(np.searchsorted(_FIXED_KEYS, key), len(_FIXED_KEYS) - 1)
        fixed = (_FIXED_KEYS[at] == key) & (_FIXED_LENGTHS[at] == self.length)
        kind = np.where(fixed, _FIXED_KINDS[at], np.int8(-1))
        rest = np.flatnonzero(~fixed)  # tags with attributes (~a fifth): classified apart
        if len(rest):
            kind[rest] = self._attribute_kinds(key[rest], rest)
        if bool((kind < 0).any()):
            raise NotCanonical  # a tag of another form (a prefix, a comment, <extLst>...)
        return kind

    def _attribute_kinds(self, key: np.ndarray, which: np.ndarray) -> np.ndarray:
        """The kinds of the tags `which` (none of a fixed form), -1 where none fits."""
        length = self.length[which]
        slash = self.chunk.bytes[self.end[which] - 1] == 47  # '/'
        kind = np.full(len(which), -1, np.int8)
        is_c = ((key & np.uint64((1 << 48) - 1)) == np.uint64(_C_PREFIX)) & (length > 8)
        kind[is_c] = np.where(slash[is_c], C_EMPTY, C)
        is_row = ((key & np.uint64((1 << 40) - 1)) == np.uint64(_ROW_PREFIX)) & ~is_c
        kind[is_row] = np.where(slash[is_row], ROW_EMPTY, ROW)
        is_fa = ((key & np.uint64((1 << 24) - 1)) == np.uint64(_F_PREFIX)) & (kind < 0)
        kind[is_fa] = np.where(slash[is_fa], FA_EMPTY, FA)
        maybe = np.flatnonzero((kind < 0) & (length == _PRESERVE_LEN))
        if len(maybe):
            found = self.chunk.window(self.start[which[maybe]], 3)
            for raw, code in _PRESERVE.items():
                same = (found == np.frombuffer(raw, np.uint8)).all(axis=1)
                kind[maybe[same]] = code
        return kind


def check(tokens: Tokens) -> RowTags:
    """Raise NotCanonical unless the chunk is well-formed XML of the handled form (see above)."""
    kind, data = tokens.kind, tokens.chunk.data
    if not len(kind):
        if data.strip():
            raise NotCanonical
        return RowTags(tokens, np.zeros(0, bool), np.zeros(0, np.int64))  # whitespace only
    if kind[0] not in (ROW, ROW_EMPTY) or kind[-1] not in (ROW_END, ROW_EMPTY):
        raise NotCanonical
    pairs = kind[:-1].astype(np.int16) * _KINDS + kind[1:]
    if not bool(_ALLOWED.reshape(-1)[pairs].all()):
        raise NotCanonical
    stray = np.flatnonzero((tokens.gap > 0) & ~_TEXT_AFTER[kind[:-1]])
    if len(stray) > 10_000:
        raise NotCanonical  # indented XML: the other readers
    for i in stray.tolist():
        if data[tokens.end[i] + 1 : tokens.start[i + 1]].strip(b" \t\r\n"):
            raise NotCanonical
    edges = data[: tokens.start[0]] + data[tokens.end[-1] + 1 :]
    if edges.strip(b" \t\r\n"):
        raise NotCanonical
    _check_characters(tokens)
    return _check_row_tags(tokens)


def _check_characters(tokens: Tokens) -> None:
    chunk = tokens.chunk
    data, array = chunk.data, chunk.bytes[: chunk.size]
    low = array < 32
    if bool(low.any()) and not bool(np.isin(array[low], (9, 10, 13)).all()):
        raise NotCanonical  # control characters are not XML
    closers = tokens.closers  # "]]>": a '>' after two ']' (the padding reads as 0 before 0)
    if bool(((chunk.bytes[closers - 1] == 93) & (chunk.bytes[closers - 2] == 93)).any()):
        raise NotCanonical
    _check_entities(chunk, np.flatnonzero(array == 38))  # '&'
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotCanonical from exc
        if b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data:  # U+FFFE, U+FFFF
            raise NotCanonical


def _check_entities(chunk: Chunk, amps: np.ndarray) -> None:
    """Every '&' at `amps` starts a well-formed reference to a character XML allows.

    The named references (&lt; &amp;...) are recognised in bulk; the regular expressions scan
    the chunk only when it holds something else (a character reference, or a bad one)."""
    if not len(amps):
        chunk.entities = frozenset()
        return
    word = chunk.word(amps)
    named = np.zeros(len(amps), bool)
    present = set()
    for length, (keys, names) in _NAMED_BY_LENGTH.items():
        prefix = masked(word, length)
        named |= np.isin(prefix, keys)
        present.update(name for key, name in zip(keys, names, strict=True) if key in prefix)
    if bool(named.all()):
        chunk.entities = frozenset(present)
        return
    data = chunk.data
    if _BAD_ENTITY.search(data):
        raise NotCanonical
    if not all(map(_xml_character, _CHARACTER_REF.findall(data))):
        raise NotCanonical  # a reference to a character XML does not allow (&#0;)


class RowTags:
    """The chunk's row tags (``<row r="N" ...>``, r first): their numbers and digits."""

    def __init__(self, tokens: Tokens, is_row: np.ndarray, digits: np.ndarray) -> None:
        self.digits = digits  # (rows,)
        # the digits as stored, after '<row r="', to compare with each cell's reference
        self.words = masked(tokens.chunk.word(tokens.start[is_row] + 8), digits)
        self.numbers = self.words.view("S8").astype(np.int64)  # NULs after the digits: ignored
        self.owner = np.cumsum(is_row) - 1  # (tags,) the row each tag is in


def _check_row_tags(tokens: Tokens) -> RowTags:
    """The row tags, each ``<row r="N"`` (N: 1 to 1048576, no leading zero) then well-formed
    attributes (no other ``r``, no duplicates), checked in bulk: the attribute texts once each
    (row tags differ in their numbers only, mostly)."""
    is_row = (tokens.kind == ROW) | (tokens.kind == ROW_EMPTY)
    rows = np.flatnonzero(is_row)
    chunk, start = tokens.chunk, tokens.start[rows]
    number = chunk.word(start + 8).view(np.uint8).reshape(-1, 8)  # (rows, 8) after '<row r="'
    digits = np.argmin((number - 48) < 10, axis=1)  # the first byte not a digit (uint8 wraps)
    at = np.arange(len(rows))
    ok = (chunk.word(start) == _ROW_R) & (number[:, 0] != 48)  # '0'
    ok &= (digits > 0) & (number[at, digits] == 34)  # '"' after 1 to 7 digits
    if not bool(ok.all()):
        raise NotCanonical  # a row without r="..." first (the regex reader), or a bad number
    tail_at = start + 9 + digits
    tail_len = tokens.end[rows] - tail_at - (tokens.kind[rows] == ROW_EMPTY)
    for text in distinct_tails(chunk, tail_at, tail_len).texts:
        if not attributes_ok(text) or b"r" in _attribute_names(text):
            raise NotCanonical  # malformed, or duplicate attributes
    found = RowTags(tokens, is_row, digits)
    if len(rows) and (int(found.numbers.min()) < 1 or int(found.numbers.max()) > 1048576):
        raise NotCanonical
    return found


def _attribute_names(tag: bytes) -> set[bytes]:
    return {name for name, _ in _ATTR.findall(tag)}


class CellAttrs:
    """Distinct attribute texts (after ``r="..."``) and each cell's index into them."""

    def __init__(self, texts: list[bytes], index: np.ndarray) -> None:
        self.texts, self.index = texts, index


def distinct_tails(chunk: Chunk, start: np.ndarray, length: np.ndarray) -> CellAttrs:
    """The distinct byte strings ``data[start:start+length]`` and each one's index among them.

    Texts of up to MAX_TAIL bytes are told apart in bulk (a digest of their bytes, then checked
    exactly); longer ones (a shared formula's master: ``t="shared" ref=".." si=".."``, rare)
    one by one.
    """
    if len(start) == 0:
        return CellAttrs([], np.zeros(0, np.int64))
    if int(length.min()) < 0:
        raise NotCanonical
    long = length > MAX_TAIL
    if bool(long.any()):
        short = np.flatnonzero(~long)
        found = distinct_tails(chunk, start[short], length[short])
        texts, index = found.texts, np.empty(len(start), np.int64)
        index[short] = found.index
        known = {text: i for i, text in enumerate(texts)}
        data = chunk.data
        for i in np.flatnonzero(long).tolist():
            text = data[start[i] : start[i] + length[i]]
            index[i] = known.setdefault(text, len(known))
            if index[i] == len(texts):
                texts.append(text)
        return CellAttrs(texts, index)
    n_words = (int(length.max()) + 7) // 8
    words = np.zeros((len(start), max(n_words, 1)), np.uint64)  # (n, n_words)
    for k in range(n_words):
        longer = np.flatnonzero(length > 8 * k)  # most attribute texts take one word
        words[longer, k] = masked(chunk.word(start[longer] + 8 * k), length[longer] - 8 * k)
    digest = length.astype(np.uint64)
    for k in range(words.shape[1]):
        digest = digest * _MIX[k] ^ words[:, k]
    _, first, index = np.unique(digest, return_index=True, return_inverse=True)
    if not bool((words == words[first][index]).all()) or not bool(
        (length == length[first][index]).all()
    ):
        raise NotCanonical  # two texts with one digest: never seen, but not trusted
    data = chunk.data
    texts = [data[s : s + n] for s, n in zip(start[first].tolist(), length[first].tolist())]
    return CellAttrs(texts, index.reshape(-1))


def attributes_ok(text: bytes) -> bool:
    """Attribute text `` a="1" b="2"`` well-formed (an optional trailing space), no duplicates."""
    body = text[:-1] if text.endswith(b" ") else text
    if _ATTRS.fullmatch(body) is None:
        return False
    return len(_attribute_names(body)) == body.count(b'="')


class Cells:
    """A checked chunk's cells in file order: where each one's parts are in the chunk."""

    def __init__(self, tokens: Tokens, row_tags: RowTags) -> None:
        kind, start, end = tokens.kind, tokens.start, tokens.end
        self.chunk = chunk = tokens.chunk
        is_cell = (kind == C) | (kind == C_EMPTY)
        self.tag = np.flatnonzero(is_cell)  # (n,) index of each cell's tag
        self.n = n = len(self.tag)
        owner = np.cumsum(is_cell) - 1  # (tags,) the cell each tag belongs to
        self.rows, self.cols, tail_at = _refs(chunk, start[self.tag], row_tags, self.tag)
        self.empty = empty = kind[self.tag] == C_EMPTY
        tail_len = end[self.tag] - tail_at - empty  # attributes end before '>' or '/>'
        self.attrs = distinct_tails(chunk, tail_at, tail_len)
        self.tail_at = tail_at  # after the reference's closing quote
        # formulas: 0 none, 1 <f>text</f> or <f/>, 2 with attributes
        self.f_kind = np.zeros(n, np.int8)
        self.f_start, self.f_end = np.zeros(n, np.int64), np.zeros(n, np.int64)
        plain = np.flatnonzero((kind == F) | (kind == F_EMPTY))
        self.f_kind[owner[plain]] = 1
        with_attrs = np.flatnonzero((kind == FA) | (kind == FA_EMPTY))
        self.f_kind[owner[with_attrs]] = 2
        opened = np.flatnonzero((kind == F) | (kind == FA))
        self.f_start[owner[opened]] = end[opened] + 1
        self.f_end[owner[opened]] = start[opened + 1]
        fa_tail = start[with_attrs] + 2
        fa_len = end[with_attrs] - fa_tail - (kind[with_attrs] == FA_EMPTY)
        self.f_attrs = distinct_tails(chunk, fa_tail, fa_len)
        self.f_attr_cells = owner[with_attrs]
        self.t_cells = owner[np.flatnonzero(kind == T)]  # <t>text</t> (in <is>), in file order
        self.v_start, self.v_end = self._texts(kind, owner, start, end, V)
        self.t_start, self.t_end = self._texts(kind, owner, start, end, T)
        self.has_is = np.zeros(n, bool)
        self.has_is[owner[np.flatnonzero(kind == IS)]] = True
        self._owner, self._opened = owner, opened

    def ends(self, tokens: Tokens) -> tuple[np.ndarray, np.ndarray]:
        """(after the formula element or, without one, after the start tag; after the cell)
        of each cell: where a write-back's new value goes, and what it replaces."""
        kind, end, owner = tokens.kind, tokens.end, self._owner
        f_end = end[self.tag] + 1
        closed = np.flatnonzero((kind == F_EMPTY) | (kind == FA_EMPTY))
        f_end[owner[closed]] = end[closed] + 1
        f_end[owner[self._opened]] = end[self._opened + 1] + 1  # the </f> after each <f>
        cell_end = end[self.tag] + 1  # <c .../>: its tag
        closing = np.flatnonzero(kind == C_END)
        cell_end[owner[closing]] = end[closing] + 1
        return f_end, cell_end

    def _texts(self, kind, owner, start, end, opening) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) of each cell's text in the element `opening`; (0, 0) where none."""
        first, last = np.zeros(self.n, np.int64), np.zeros(self.n, np.int64)
        opened = np.flatnonzero(kind == opening)
        first[owner[opened]] = end[opened] + 1
        last[owner[opened]] = start[opened + 1]
        return first, last


def _refs(
    chunk: Chunk, tag_start: np.ndarray, row_tags: RowTags, tag: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, where the attributes after r="..." start) of each ``<c r="A1"`` tag.

    A cell's row digits must be its row tag's, byte for byte (compared as masked words): then
    the row number is the row tag's, parsed once per row."""
    at = tag_start + 6
    data = chunk.bytes
    letter = [(data[at + k] - 65) < 26 for k in range(4)]  # uint8 arithmetic wraps
    n_letters = 1 + letter[1] + (letter[1] & letter[2])
    ok = letter[0] & ~(letter[1] & letter[2] & letter[3])
    row = row_tags.owner[tag]
    digits = row_tags.digits[row]
    digits_at = at + n_letters
    ok &= masked(chunk.word(digits_at), digits) == row_tags.words[row]
    ok &= data[digits_at + digits] == 34  # '"'
    if len(at) and not bool(ok.all()):
        raise NotCanonical  # not the row's number, or a reference of another form
    a, b, c = ((data[at + k] - 64).astype(np.int64) for k in range(3))
    col = np.choose(n_letters - 1, [a, a * 26 + b, (a * 26 + b) * 26 + c])
    if len(at) and int(col.max()) > 16384:
        raise NotCanonical  # the element reader names the bad reference
    return row_tags.numbers[row], col, digits_at + digits + 1


def tokenize(data: bytes) -> Cells:
    """The cells of `data` (a run of whole ``<row>`` elements), checked; or NotCanonical."""
    return tokenize_with_tags(data)[0]


def tokenize_with_tags(data: bytes) -> tuple[Cells, Tokens]:
    """`tokenize`, and the tags (for `Cells.ends`)."""
    tokens = Tokens(Chunk(data))
    return Cells(tokens, check(tokens)), tokens
