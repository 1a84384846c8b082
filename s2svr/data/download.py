"""Fetching dataset archives: resumable HTTP downloads, checksums, safe extraction.

Explained in the chapter `notebooks/data.py` (section on preparing the real datasets). The
`data_scripts/prepare_*.py` scripts are thin command lines over this module and the loaders.

- :func:`download` writes to `<dest>.part` and resumes it with an HTTP `Range` request (a server that
  ignores the range gets a fresh start), shows a tqdm bar, and renames to `<dest>` only after the
  checksum (if given) matches; a mismatch deletes the partial file and raises :class:`ChecksumError`,
  so a corrupt archive is never left looking complete. `file://` URLs work the same way (tests,
  archives already on a local disk).
- Checksums: only real, published ones are ever passed in. None of the datasets used here publish one,
  so the scripts call :func:`record_checksum`, which stores the sha256 of what was downloaded in
  `<root>/checksums.json`; later runs verify against it.
- Plain `http://` is refused by :func:`download` unless the caller allows it (`allow_http=True`); :func:`fetch`
  allows it only for the servers that offer nothing else (REDS and GOPRO at SNU), says so, and relies on the
  sha256 recorded on the first download.
- :func:`extract` unpacks zip / tar archives, refusing members that would land outside the target
  folder, and leaves a marker so a finished extraction is not repeated.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tqdm.auto import tqdm

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download could not be completed."""


class ChecksumError(DownloadError):
    """A downloaded file does not have the expected digest (the file has been removed)."""


@dataclass(frozen=True)
class Resource:
    """One downloadable archive: where it lives, what it is called, its published digest if any."""

    url: str
    filename: str
    sha256: Optional[str] = None    # only a digest published by the dataset's authors; never guessed
    md5: Optional[str] = None
    note: str = ""                  # size / content, shown to the user


def file_digest(path, algo: str = "sha256", progress: bool = False) -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algo)
    path = Path(path)
    with open(path, "rb") as f, tqdm(total=path.stat().st_size, unit="B", unit_scale=True,
                                     desc=f"{algo} {path.name}", disable=not progress) as bar:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
            bar.update(len(chunk))
    return h.hexdigest()


def verify(path, sha256: Optional[str] = None, md5: Optional[str] = None, progress: bool = False) -> None:
    """Raise :class:`ChecksumError` unless `path` matches every digest given."""
    for algo, want in (("sha256", sha256), ("md5", md5)):
        if want:
            got = file_digest(path, algo, progress)
            if got.lower() != want.lower():
                raise ChecksumError(f"{path}: {algo} {got} does not match the expected {want}")


def _open(url: str, offset: int, timeout: float):
    """Response for `url` from byte `offset`, and whether the server honoured the range."""
    if url.startswith("file://"):
        path = Path(urllib.request.url2pathname(url[len("file://"):]))
        f = open(path, "rb")
        f.seek(offset)
        f.length = path.stat().st_size - offset
        return f, True
    req = urllib.request.Request(url, headers={"User-Agent": "s2svr-data/0.1"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    resp = urllib.request.urlopen(req, timeout=timeout)
    return resp, getattr(resp, "status", 200) == 206


def download(url: str, dest, sha256: Optional[str] = None, md5: Optional[str] = None,
             timeout: float = 60.0, progress: bool = True, chunk_size: int = CHUNK, allow_http: bool = False) -> Path:
    """Download `url` to `dest`, resuming `<dest>.part`; verify digests if given; return `dest`.

    An existing `dest` is kept (and verified when a digest is given). Raises :class:`DownloadError`
    on network errors (the partial file stays, so the next call resumes) and :class:`ChecksumError`
    on a digest mismatch (the partial file is deleted).
    """
    dest = Path(dest)
    host = urllib.parse.urlsplit(url).hostname or ""
    if url.lower().startswith("http://") and not allow_http and host not in ("127.0.0.1", "localhost", "::1"):
        raise DownloadError(f"{url}: plain HTTP is refused (anyone on the way can change the file); use an "
                            "https:// address, or pass allow_http=True where the server offers nothing else")
    if dest.exists():
        verify(dest, sha256, md5, progress)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    try:
        resp, resumed = _open(url, offset, timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:    # range starts at the end: the partial file is already whole
            resp, resumed = None, True
        else:
            raise DownloadError(f"{url}: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError) as e:
        raise DownloadError(f"{url}: {e}") from e
    if resp is not None:
        if not resumed:
            offset = 0                  # the server sent the whole file: start over
        length = getattr(resp, "length", None)
        total = offset + length if length is not None else None
        try:
            with resp, open(part, "ab" if offset else "wb") as out, tqdm(
                    total=total, initial=offset, unit="B", unit_scale=True, desc=dest.name,
                    disable=not progress) as bar:
                for chunk in iter(lambda: resp.read(chunk_size), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as e:
            raise DownloadError(f"{url}: interrupted after {part.stat().st_size} bytes ({e}); "
                                "run again to resume") from e
        if total is not None and part.stat().st_size != total:
            raise DownloadError(f"{url}: got {part.stat().st_size} of {total} bytes; run again to resume")
    try:
        verify(part, sha256, md5, progress)
    except ChecksumError as e:
        part.unlink()
        raise ChecksumError(f"{e} (deleted {part.name}; it will be downloaded again)") from None
    part.rename(dest)
    return dest


def record_checksum(path, ledger=None, progress: bool = True) -> str:
    """sha256 of `path`, checked against or else stored in `ledger` (default `checksums.json` beside it).

    Used where no digest is published: the first download is recorded, later copies must match it.
    """
    path = Path(path)
    ledger = Path(ledger) if ledger else path.parent / "checksums.json"
    book = json.loads(ledger.read_text()) if ledger.exists() else {}
    digest = file_digest(path, "sha256", progress)
    known = book.get(path.name, {}).get("sha256")
    if known and known != digest:
        raise ChecksumError(f"{path}: sha256 {digest} differs from the one recorded in {ledger} ({known})")
    book[path.name] = {"sha256": digest, "size": path.stat().st_size, "source": "computed locally"}
    ledger.write_text(json.dumps(book, indent=2, sort_keys=True) + "\n")
    return digest


def _safe_target(base: Path, name: str) -> Path:
    target = (base / name).resolve()
    if base.resolve() not in (target, *target.parents):
        raise DownloadError(f"archive member {name!r} would be written outside {base}")
    return target


def extract(archive, dest_dir, progress: bool = True) -> Path:
    """Unpack a .zip / .tar(.gz|.bz2|.xz) into `dest_dir` (once: a marker file records completion)."""
    archive, dest_dir = Path(archive), Path(dest_dir)
    marker = dest_dir / f".{archive.name}.extracted"
    if marker.exists():
        return dest_dir
    dest_dir.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for m in tqdm(z.infolist(), desc=f"extract {archive.name}", disable=not progress):
                target = _safe_target(dest_dir, m.filename)
                if m.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(m) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            members = t.getmembers()
            for m in members:
                _safe_target(dest_dir, m.name)
                if m.issym() or m.islnk():
                    raise DownloadError(f"{archive}: refusing link member {m.name!r}")
            for m in tqdm(members, desc=f"extract {archive.name}", disable=not progress):
                if hasattr(tarfile, "data_filter"):   # Python >= 3.11.4: also strips odd permissions
                    t.extract(m, dest_dir, filter="data")
                else:
                    t.extract(m, dest_dir)
    else:
        raise DownloadError(f"{archive}: not a zip or tar archive")
    marker.write_text("ok\n")
    return dest_dir


def fetch(resource: Resource, downloads_dir, progress: bool = True) -> Path:
    """Download one :class:`Resource` into `downloads_dir`, verifying its published digest or recording one."""
    plain = resource.url.lower().startswith("http://")
    if plain:
        print(f"{resource.url}: this server offers plain HTTP only; the sha256 of the first download is recorded "
              "in checksums.json and every later use is checked against it")
    path = download(resource.url, Path(downloads_dir) / resource.filename, sha256=resource.sha256,
                    md5=resource.md5, progress=progress, allow_http=plain)
    if not (resource.sha256 or resource.md5):
        ledger = path.parent / "checksums.json"
        known = ledger.exists() and resource.filename in json.loads(ledger.read_text())
        digest = record_checksum(path, ledger, progress=progress)
        print(f"{path.name}: sha256 {digest} " + ("matches the one recorded" if known else
              f"recorded in {ledger} (no digest is published; later uses are checked against it)"))
    return path
