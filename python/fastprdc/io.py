"""Reading feature and label files: the one reader behind ``fastprdc eval`` and any other code
that loads features from disk.

- ``.npy``: memory-mapped (a large float32 file is not copied before validation); the header
  is read once, and an object (pickled) array is refused before any data is read.
- ``.npz``: the array named ``key``, the only array, or the one of :data:`FEATURE_KEYS`
  present; every failure of the archive is reported through one error path.
- ``.pt`` / ``.pth``: ``torch.load(map_location="cpu", weights_only=True)`` (no code from the
  file runs): a tensor, or a dict of tensors with the key chosen as for ``.npz``.

A missing path raises ``FileNotFoundError``, a directory ``IsADirectoryError``; anything
unreadable, ambiguous or of the wrong kind raises :class:`FileReadError` (a ``ValueError``)
naming the file. The arrays come back as stored: validation and dtype conversion are the
metric functions' job (docs/metrics.md section 9).
"""

from __future__ import annotations

import tokenize
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Union

import numpy as np

__all__ = [
    "FEATURE_KEYS",
    "LABEL_KEYS",
    "FileReadError",
    "load_features",
    "load_labels",
    "npy_header",
]

PathLike = Union[str, Path]

#: Keys tried, in this order, when an .npz (or a saved dict) holds several arrays.
FEATURE_KEYS = ("feats", "reps", "feature", "features", "arr_0")
#: Keys tried for class labels inside an .npz ("{set}" is "real" or "fake").
LABEL_KEYS = ("{set}_labels", "labels", "label", "y", "targets", "target", "classes")

_FEATURE_SUFFIXES = ".npy, .npz or .pt"
_PICKLED = "refusing to load pickled data (object array)"

#: What reading a damaged or foreign .npz can raise: numpy's header errors (a damaged header
#: can also fail its tokenizer or parser), a truncated file, the zip archive's own (bad CRC,
#: bad directory; RuntimeError / NotImplementedError for a header that claims encryption or
#: an unknown method) and a compressed member's inflate errors.
NPZ_ERRORS = (
    ValueError, OSError, EOFError, SyntaxError, tokenize.TokenError, RuntimeError,
    zipfile.BadZipFile, zlib.error,
)  # fmt: skip


class FileReadError(ValueError):
    """A file that cannot serve as features or labels; the message names the file."""


# --------------------------------------------------------------------------- checks


def _existing_file(path: PathLike) -> Path:
    """``path`` as a Path to an existing regular file, or the error saying what it is."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory; pass a {_FEATURE_SUFFIXES} file")
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if not path.is_file():
        raise FileReadError(f"{path}: not a regular file")
    return path


def _checked(arr: Any, where: str, kinds: str, expected: str) -> np.ndarray:
    """The array if its dtype kind is one of ``kinds`` (object arrays always refused)."""
    arr = np.asanyarray(arr)  # a memory map stays one
    if arr.dtype.hasobject:
        raise FileReadError(f"{where}: {_PICKLED}")
    if arr.dtype.kind not in kinds:
        raise FileReadError(f"{where}: expected {expected}, got dtype {arr.dtype}")
    return arr


def _features(arr: Any, where: str) -> np.ndarray:
    return _checked(arr, where, "biuf", "a numeric array")


def _labels(arr: Any, where: str) -> np.ndarray:
    return _checked(arr, where, "biufUS", "class ids (ints or strings)")


# --------------------------------------------------------------------------- formats


def npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from a .npy file's header, without reading its data; FileReadError
    naming the file when it is no readable .npy file or holds an object array."""
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        dtype = np.dtype(dtype)
    except NPZ_ERRORS as exc:  # a damaged header can also fail numpy's tokenizer or parser
        raise FileReadError(f"{path}: not a readable .npy file ({exc})") from None
    if dtype.hasobject:
        raise FileReadError(f"{path}: {_PICKLED}")
    return shape, dtype


def _read_npy(path: Path) -> np.ndarray:
    """A memory-mapped .npy array, its header checked first (object arrays refused)."""
    npy_header(path)
    try:
        return np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError, EOFError) as exc:
        raise FileReadError(f"{path}: not a readable .npy file ({exc})") from None


def archive_kind(fh: BinaryIO) -> str:
    """What an open binary file holds, by its first bytes: ``"npz"`` (a zip archive),
    ``"npy"`` (a single array) or ``"other"`` (which np.load would try to unpickle). The file
    is left at its start."""
    magic = fh.read(6)
    fh.seek(0)
    if magic.startswith(b"PK"):
        return "npz"
    return "npy" if magic == np.lib.format.MAGIC_PREFIX else "other"


def _read_npz(path: Path, choose: Callable[[list[str]], str]) -> tuple[str, np.ndarray]:
    """(name, array) of the member ``choose(names)`` picks; every failure is one
    :class:`FileReadError` (``choose`` raises its own)."""
    name = None
    try:
        with open(path, "rb") as fh:  # our handle: closed even when the archive is broken
            kind = archive_kind(fh)
            if kind == "npy":
                raise FileReadError(f"{path}: a single .npy array, not an .npz archive; rename it")
            if kind != "npz":
                raise FileReadError(f"{path}: not an .npz (zip) archive")
            with np.load(fh, allow_pickle=False) as npz:
                name = choose(list(npz.files))
                return name, npz[name]
    except FileReadError:
        raise
    except NPZ_ERRORS as exc:
        if name is not None and "pickle" in str(exc).lower():
            raise FileReadError(f"{path}[{name}]: {_PICKLED}") from None
        where = f"{path}[{name}]" if name is not None else str(path)
        raise FileReadError(f"{where}: not a readable .npz file ({exc})") from None


def _read_torch(path: Path, choose: Callable[[list[str]], str]) -> np.ndarray:
    """A tensor saved with torch (or a dict of them), loaded with ``weights_only=True``."""
    try:
        import torch
    except ImportError:
        raise FileReadError(f"{path}: reading .pt/.pth needs PyTorch (pip install torch)") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise FileReadError(f"{path}: cannot load safely with weights_only=True ({exc})") from None
    if isinstance(obj, dict):
        obj = obj[choose([k for k in obj if isinstance(k, str)])]
    if not isinstance(obj, torch.Tensor):
        raise FileReadError(f"{path}: expected a tensor, got {type(obj).__name__}")
    tensor = obj.detach().cpu()
    if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16; float32 holds it exactly
        tensor = tensor.float()
    return tensor.numpy()


def _feature_key(path: Path, key: str | None) -> Callable[[list[str]], str]:
    """Chooser of the features array: ``key``, the only array, or the one FEATURE_KEYS name."""

    def choose(keys: list[str]) -> str:
        listed = ", ".join(keys) if keys else "(none)"
        if key is not None:
            if key not in keys:
                raise FileReadError(f"{path}: no array named {key!r}; keys: {listed}")
            return key
        if len(keys) == 1:
            return keys[0]
        found = [k for k in FEATURE_KEYS if k in keys]
        if len(found) == 1:
            return found[0]
        why = "several feature keys" if found else "no known feature key"
        raise FileReadError(
            f"{path}: {why} ({', '.join(found) or ', '.join(FEATURE_KEYS)}) among {listed}; "
            "choose one with --key (key= in Python)"
        )

    return choose


def _label_key(
    path: Path, set_name: str, key: str | None, only_labels: bool
) -> Callable[[list[str]], str]:
    """Chooser of the labels array: ``key``; ``{set}_labels``; the one other LABEL_KEYS name
    present (several are ambiguous, as several feature keys are); or (in a labels-only file)
    the only array."""

    def choose(keys: list[str]) -> str:
        listed = ", ".join(keys) or "(none)"
        if key is not None:
            if key not in keys:
                raise FileReadError(f"{path}: no labels array named {key!r}; keys: {listed}")
            return key
        own, *generic = (pattern.format(set=set_name) for pattern in LABEL_KEYS)
        if own in keys:
            return own
        found = [k for k in generic if k in keys]
        if len(found) > 1:
            raise FileReadError(
                f"{path}: several label keys ({', '.join(found)}) among {listed}; choose one "
                "with --labels-key (key= in Python)"
            )
        if found:
            return found[0]
        if len(keys) == 1 and only_labels:
            return keys[0]
        tried = ", ".join(p.format(set=set_name) for p in LABEL_KEYS)
        raise FileReadError(
            f"{path}: no labels array found (tried {tried}; keys: {listed}); "
            "choose one with --labels-key (key= in Python)"
        )

    return choose


# --------------------------------------------------------------------------- public


def load_features(path: PathLike, key: str | None = None) -> np.ndarray:
    """A feature matrix from .npy (memory-mapped), .npz or .pt/.pth.

    Args:
        path: the file.
        key: the array's name inside an .npz or a saved dict; by default the only array, or
            the one of :data:`FEATURE_KEYS` present.

    Raises:
        FileNotFoundError: no such file. IsADirectoryError: a directory.
        FileReadError: (a ValueError) an unsupported suffix, an unreadable or ambiguous
            file, pickled (object) data, a non-numeric array, ``key`` with a .npy file.
    """
    path = _existing_file(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        if key is not None:
            raise FileReadError(f"{path}: --key (key=) applies to .npz and .pt files only")
        return _features(_read_npy(path), str(path))
    if suffix == ".npz":
        name, arr = _read_npz(path, _feature_key(path, key))
        return _features(arr, f"{path}[{name}]")
    if suffix in (".pt", ".pth"):
        return _features(_read_torch(path, _feature_key(path, key)), str(path))
    raise FileReadError(
        f"{path}: unsupported file type {suffix or '(none)'}; use {_FEATURE_SUFFIXES}"
    )


def load_labels(
    path: PathLike, set_name: str = "real", key: str | None = None, *, features: bool = False
) -> np.ndarray:
    """Class labels (one id per row) from .npy or .npz.

    In an .npz the array is ``key``, ``real_labels``/``fake_labels`` (``set_name``), or the
    one other :data:`LABEL_KEYS` name present (``labels``, ``label``, ``y``, ...; several
    are an error); a labels-only .npz with a single array also works. ``features=True``
    says that ``path`` is the features file itself (labels stored beside the features): then
    a key must match, and a .npy file, which holds one array, is an error. Pickled data is
    refused.
    """
    path = _existing_file(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        if features:
            raise FileReadError(
                f"{path}: a .npy file holds no labels; pass --{set_name}-labels FILE"
            )
        return _labels(_read_npy(path), str(path))
    if suffix == ".npz":
        name, arr = _read_npz(path, _label_key(path, set_name, key, not features))
        return _labels(arr, f"{path}[{name}]")
    raise FileReadError(f"{path}: labels must be a .npy or .npz file, got {suffix or '(none)'}")
