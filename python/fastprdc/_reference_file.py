"""The reference file's format (:meth:`fastprdc.Reference.save` / ``load``): one ``.npz``
archive, no pickle, whose ``meta`` entry (JSON) describes the stored arrays; how a real side,
the parameters and the labels become arrays and metadata, checked reading of each array, the
recognition of a reference file by its content, and writing the archive atomically."""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from . import _engine
from ._engine import Centre, SideOutput
from .io import NPZ_ERRORS, archive_kind

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ArchiveReader",
    "FileFormatError",
    "is_reference_file",
    "json_params",
    "open_archive",
    "reference_meta",
    "running_version",
    "savable_labels",
    "side_depth",
    "side_meta",
    "write_archive",
]

#: ``meta["format"]`` of a reference file.
FORMAT = "fastprdc.reference"


#: Version of the file layout written by :meth:`Reference.save`; files of a higher version are
#: refused (written by a newer fastprdc), lower ones are read.
FORMAT_VERSION = 1


def side_depth(side: SideOutput | None) -> int:
    return 0 if side is None or side.knn is None else int(side.knn[0].shape[1])


def json_params(params: Mapping[str, Mapping[str, Any]], arrays: dict[str, np.ndarray]) -> Any:
    out: dict[str, dict[str, Any]] = {}
    for family, values in params.items():
        out[family] = {}
        for name, value in values.items():
            if isinstance(value, np.ndarray):
                key = f"param/{family}/{name}"
                arrays[key] = np.ascontiguousarray(value)
                out[family][name] = {"array": key}
            else:
                out[family][name] = value
    return out


def side_meta(side: SideOutput | None, prefix: str, arrays: dict[str, np.ndarray]) -> Any:
    if side is None:
        return None
    meta: dict[str, Any] = {"depth": side_depth(side), "n_rechecked": int(side.n_rechecked)}
    if side.knn is not None:
        arrays[prefix + "knn_dist"] = side.knn[0]
        arrays[prefix + "knn_idx"] = side.knn[1]
    meta["mean"] = side.mean is not None
    if side.mean is not None:
        arrays[prefix + "mean"] = side.mean
    centres = []
    for j, (centre, dist) in enumerate(side.centre_distances.items()):
        kind, value = centre
        entry: dict[str, Any] = {"kind": kind, "dist": f"{prefix}centre{j}_dist"}
        if kind == "mean":
            entry["of"] = value
        else:
            entry["vector"] = f"{prefix}centre{j}_vector"
            arrays[entry["vector"]] = np.frombuffer(value, dtype=np.float64)  # type: ignore[arg-type]
        arrays[entry["dist"]] = dist
        centres.append(entry)
    meta["centres"] = centres
    return meta


def savable_labels(labels: np.ndarray) -> np.ndarray:
    """Labels as a non-object array (npz without pickle), or ValueError."""
    if labels.dtype.kind != "O":
        return labels
    values = labels.tolist()
    converted = np.asarray(values)
    if converted.dtype.kind == "O" or converted.tolist() != values:
        raise ValueError(
            "real_labels of mixed types (an object array) cannot be saved without pickle; "
            "use one type of class id (all ints or all strings)"
        )
    return converted


class FileFormatError(ValueError):
    pass


class ArchiveReader:
    """Checked access to the arrays of an opened reference file."""

    def __init__(self, npz: Any, path: str) -> None:
        self.npz, self.path = npz, path

    def fail(self, text: str) -> None:
        raise FileFormatError(f"{self.path} is not a valid fastprdc reference file: {text}")

    def read(self, key: str) -> np.ndarray:
        """The array ``key``; a FileFormatError naming it when it is missing or damaged."""
        if key not in self.npz.files:
            self.fail(f"the array {key!r} is missing")
        try:
            return self.npz[key]
        except NPZ_ERRORS as exc:
            if "allow_pickle" in str(exc):
                raise FileFormatError(
                    f"{self.path} is not a fastprdc reference file: {key!r} holds pickled "
                    "objects, which are never loaded"
                ) from None
            raise FileFormatError(f"{self.path} is damaged: cannot read {key!r} ({exc})") from None

    def array(self, key: str, shape: tuple[int, ...], kind: str) -> np.ndarray:
        a = self.read(key)
        if a.shape != shape or a.dtype.kind != kind:
            self.fail(f"{key!r} has shape {a.shape} and dtype {a.dtype}, expected {shape} ({kind})")
        return a

    def side(self, meta: Any, prefix: str, n: int, d: int) -> SideOutput | None:
        if meta is None:
            return None
        try:
            depth, rechecked = int(meta["depth"]), int(meta["n_rechecked"])
            has_mean, centres = bool(meta["mean"]), list(meta["centres"])
        except (KeyError, TypeError, ValueError) as exc:
            self.fail(f"bad real-side entry {prefix or 'side'}: {exc!r}")
        side = SideOutput(n_rechecked=rechecked)
        if depth:
            dist = self.array(prefix + "knn_dist", (n, depth), "f")
            idx = self.array(prefix + "knn_idx", (n, depth), "i")
            if dist.dtype != np.float64 or idx.dtype != np.int64:
                self.fail(f"{prefix}knn arrays must be float64 / int64")
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                self.fail(f"{prefix}knn_idx holds rows outside [0, {n})")
            side.knn = (dist, idx)
        if has_mean:
            side.mean = self.array(prefix + "mean", (d,), "f").astype(np.float64, copy=False)
        for entry in centres:
            try:
                kind = entry["kind"]
                if kind == "mean":
                    centre: Centre = ("mean", str(entry["of"]))
                else:
                    vector = self.array(entry["vector"], (d,), "f").astype(np.float64, copy=False)
                    centre = _engine.given_centre(vector)
                side.centre_distances[centre] = self.array(entry["dist"], (n,), "f")
            except (KeyError, TypeError) as exc:
                self.fail(f"bad centre entry {entry!r}: {exc!r}")
        return side


def reference_meta(npz: Any, name: str) -> dict[str, Any]:
    """The ``meta`` entry of a reference archive; ValueError when ``npz`` is not one."""
    if "meta" not in npz.files:
        raise ValueError(
            f"{name} is not a fastprdc reference file: no 'meta' entry "
            f"(it holds {sorted(npz.files)[:5]})"
        )
    meta_text = ArchiveReader(npz, name).read("meta")
    try:
        meta = json.loads(str(meta_text[()]))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} is not a fastprdc reference file: bad 'meta' ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{name} is not a fastprdc reference file (format is not {FORMAT!r})")
    return meta


def is_reference_file(path: str | Path) -> bool:
    """Whether ``path`` is a file written by :meth:`Reference.save` (by its content: a zip
    archive whose ``meta`` entry carries the reference format marker)."""
    p = Path(path)
    if not p.is_file():
        return False
    try:
        with open_archive(p) as npz:
            try:
                reference_meta(npz, str(p))
            except FileFormatError:  # its 'meta' is damaged: Reference.load says so
                return "meta" in npz.files and any(f.startswith("side/") for f in npz.files)
    except Exception:  # not an .npz, or not a reference: the features reader says why
        return False
    return True


def running_version() -> str:
    from . import __version__

    return str(__version__)


@contextmanager
def open_archive(path: str | os.PathLike[str]) -> Iterator[Any]:
    """The opened ``.npz`` archive at ``path`` (closed on exit); ValueError when the file is not
    an ``.npz`` archive (a single array, another format, a damaged zip), without unpickling
    anything; OSError when it cannot be opened."""
    name = str(path)
    with open(path, "rb") as fh:  # our handle: closed even when np.load fails
        kind = archive_kind(fh)
        if kind == "npy":
            raise ValueError(
                f"{name} is not a fastprdc reference file: it holds a single array, "
                "not the .npz archive written by Reference.save"
            )
        if kind != "npz":  # np.load would try to unpickle it
            raise ValueError(f"{name} is not a fastprdc reference file: not an .npz (zip) archive")
        try:
            npz = np.load(fh, allow_pickle=False)
        except NPZ_ERRORS as exc:
            raise ValueError(
                f"{name} is not a fastprdc reference file (a .npz written by Reference.save): {exc}"
            ) from exc
        with npz:
            yield npz


def write_archive(
    path: str | os.PathLike[str], arrays: dict[str, np.ndarray], compress: bool
) -> None:
    """``arrays`` as one ``.npz`` at ``path`` (deflated with ``compress``): written to a new file
    beside the target and moved over it once complete, with the mode of the file it replaces,
    else os.open's (under the umask, like any other output; mkstemp's would be 0600)."""
    target = Path(path)
    tmp = target.with_name(f"{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        if target.is_file():
            os.chmod(fd, stat.S_IMODE(target.stat().st_mode))
    except OSError as exc:
        if tmp.exists():
            tmp.unlink()
        raise OSError(exc.errno, f"cannot write {target}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            (np.savez_compressed if compress else np.savez)(fh, **arrays)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
