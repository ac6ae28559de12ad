"""Files on disk: finding corpus files, reading them safely, decoding their bytes.

Finding (`find_corpus_files`): folders are walked with an explicit stack, not
recursion, so a folder 1,200 levels deep is fine. Hidden files and folders,
question banks and unsupported types inside folders are skipped silently.
Everything that cannot be used is reported per path with its reason, and the
rest of the run goes on: a missing path, a broken symlink, a symlink loop
(a link to one of its own parent folders, or to itself), a folder or file that
cannot be read (permission denied), an unsupported type named directly.

Reading (`read_file`): the size is checked before anything is read (default
limit `DEFAULT_MAX_MB`, 20 MB; a bigger file is refused in one line naming the
flag that raises the limit).

Decoding (`decode`): UTF-8 (with or without BOM) and UTF-16/32 with a BOM.
An HTML page's own declared charset (`<meta charset>`, an XML declaration) is
honoured, since the page says what it is. Any other bytes that are not UTF-8
are *refused, not guessed*: charset-normalizer names the likely encoding in
the message ("not UTF-8 (looks like Shift-JIS); re-save it as UTF-8"), because
a wrong guess silently corrupts every quote taken from the text.
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path

from tutor.errors import InputFileError
from tutor.loaders.blocks import control_share

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
BANK_SUFFIXES = (".questions.yaml", ".questions.yml")
DEFAULT_MAX_MB = 20.0
_MB = 1024 * 1024

_NICE_NAMES = {
    "shift_jis": "Shift-JIS", "cp932": "Shift-JIS", "shift_jis_2004": "Shift-JIS",
    "shift_jisx0213": "Shift-JIS", "euc_jp": "EUC-JP", "iso2022_jp": "ISO-2022-JP",
    "gb2312": "GB2312", "gbk": "GBK", "gb18030": "GB18030", "big5": "Big5", "cp950": "Big5",
    "euc_kr": "EUC-KR", "cp949": "EUC-KR", "latin_1": "Latin-1", "iso8859-1": "Latin-1",
    "cp1252": "Windows-1252", "cp1251": "Windows-1251", "cp1250": "Windows-1250",
    "koi8_r": "KOI8-R", "mac_roman": "Mac Roman",
}


def is_bank(path: Path) -> bool:
    return path.name.lower().endswith(BANK_SUFFIXES)


def unsupported(path: Path) -> str:
    accepted = " ".join(SUPPORTED_SUFFIXES)
    return f"{path}: unsupported file type '{path.suffix or '(none)'}'; accepted: {accepted}"


def _stat_problem(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return f"{path}: symlink loop (the link points back to itself)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{path}: cannot be read (permission denied)"
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return f"{path}: broken symlink (its target does not exist)"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return f"{path}: no such file or directory"
    if exc.errno == errno.ENAMETOOLONG:
        return f"{path}: path is too long"
    return f"{path}: cannot be read ({exc.strerror or exc})"


def find_corpus_files(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand `paths` into corpus files; report every path that cannot be used.

    Returns (files, problems), each problem a (path, one-line message) pair.
    """
    files: list[Path] = []
    problems: list[tuple[Path, str]] = []
    for path in map(Path, paths):
        try:
            info = os.stat(path)
        except OSError as exc:
            problems.append((path, _stat_problem(path, exc)))
            continue
        if stat.S_ISDIR(info.st_mode):
            found, trouble = _walk_dir(path)
            files.extend(found)
            problems.extend(trouble)
        elif is_bank(path):
            continue
        elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
            problems.append((path, unsupported(path)))
        else:
            files.append(path)
    unique = list({str(p): (p, m) for p, m in problems}.values())  # a path named twice: one report
    return list(dict.fromkeys(files)), unique


def _walk_dir(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Depth-first, sorted, without recursion; symlinked folders followed once."""
    found: list[Path] = []
    problems: list[tuple[Path, str]] = []
    root_info = os.stat(root)
    stack: list[tuple[Path, tuple[tuple[int, int], ...]]] = [
        (root, ((root_info.st_dev, root_info.st_ino),))
    ]
    while stack:
        folder, ancestors = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            problems.append((folder, _stat_problem(folder, exc)))
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                info = entry.stat()  # follows symlinks
            except OSError as exc:
                suffix_ok = path.suffix.lower() in SUPPORTED_SUFFIXES
                if entry.is_symlink() and (suffix_ok or exc.errno == errno.ELOOP):
                    problems.append((path, _stat_problem(path, exc)))
                elif not entry.is_symlink():
                    problems.append((path, _stat_problem(path, exc)))
                continue
            if stat.S_ISDIR(info.st_mode):
                key = (info.st_dev, info.st_ino)
                if key in ancestors:
                    problems.append((path, f"{path}: symlink loop (the link points to a folder that contains it)"))
                    continue
                subfolders.append((path, ancestors + (key,)))
            elif path.suffix.lower() in SUPPORTED_SUFFIXES and not is_bank(path):
                found.append(path)
        stack.extend(reversed(subfolders))
    found.sort(key=lambda p: p.parts)
    return found, problems


# ---- reading ------------------------------------------------------------------------


def read_file(path: Path, max_mb: float = DEFAULT_MAX_MB) -> bytes:
    """The file's bytes, after the checks a user can act on (missing, folder, too big)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        message = _stat_problem(path, exc)
        if message.endswith("no such file or directory"):
            message = f"{path}: no such file"
        raise InputFileError(message) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputFileError(f"{path}: is a directory, not a corpus file")
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(f"{path}: not a regular file (a device, pipe or socket)")
    if max_mb and info.st_size > max_mb * _MB:
        raise InputFileError(
            f"{path}: file is {info.st_size / _MB:.1f} MB; the limit is {max_mb:g} MB "
            "(raise it with `tutor ingest --max-size MB`)"
        )
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InputFileError(_stat_problem(path, exc)) from None


# ---- decoding -----------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_DECLARED_RE = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._-]+)""",
    re.I,
)


def _declared(data: bytes) -> str | None:
    match = _DECLARED_RE.search(data[:4096])
    if not match:
        return None
    name = (match.group(1) or match.group(2)).decode("ascii", "ignore")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    control = sum(1 for b in sample if (b < 32 and b not in b"\t\n\r\f\v\x1b") or b == 127)
    return control > 0.05 * len(sample)


def _guess(data: bytes) -> str | None:
    """charset-normalizer's best guess, as a name a user recognises."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is None:
        return None
    name = best.encoding.lower()
    return _NICE_NAMES.get(name, name.replace("_", "-").upper())


def decode(data: bytes, path: Path, html: bool = False) -> str:
    """Text from bytes; a one-line InputFileError for binary or non-UTF-8 data."""
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), None)
    if encoding is None and html:
        declared = _declared(data)
        encoding = declared if declared and declared not in ("utf-16", "utf-32") else None
    if encoding is None:
        if b"\x00" in data:
            raise InputFileError(f"{path}: binary file (contains NUL bytes), not text")
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        if looks_binary(data):
            raise InputFileError(f"{path}: binary file, not text") from None
        if encoding.startswith("utf-8"):
            guess = _guess(data)
            if guess and not guess.startswith("UTF-8"):
                raise InputFileError(
                    f"{path}: not UTF-8 (looks like {guess}); re-save it as UTF-8"
                ) from None
            if guess is None and sum(b >= 128 for b in data[:8192]) > 0.3 * len(data[:8192]):
                raise InputFileError(f"{path}: binary file, not text") from None
        raise InputFileError(
            f"{path}: not valid {encoding.upper()} text (bad byte at offset {exc.start}); "
            "re-save it as UTF-8"
        ) from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")  # Windows and old Mac line ends
    if control_share(text) > 0.05:
        raise InputFileError(f"{path}: binary file (mostly control characters), not text")
    if not text.strip():
        raise InputFileError(f"{path}: file holds only whitespace")
    return text
