"""Hashes for locked files the index gave none for (or gave one that is not a sha256).

A lock line without ``--hash`` makes ``pip install --require-hashes`` fail later, far from
the cause; pip-compile downloads such files and hashes them, and so does ftlock — streamed
to a temporary file, bounded like every download (:mod:`ftlock.untrusted`), in
parallel on the solve's pool.  The hash is of the bytes ftlock received: it pins exactly
what a later install must get, which is all a lock can promise without an index's word.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Future

from ftlock.index.http import Http
from ftlock._urls import redact
from ftlock.index.models import DistFile

log = logging.getLogger("ftlock.resolver.hashing")  # the name users see in -v output; kept across the move


def hash_missing(
    files: Iterable[DistFile],
    http: Http,
    submit: Callable[..., Future[str]],
    offline: bool = False,
) -> tuple[dict[str, str], list[str]]:
    """``({file url: sha256}, warnings)`` for the files among ``files`` without a sha256.

    A file whose index claimed something that is not a sha256 gets one warning; one with
    no hash at all is the ordinary case of a plain index and is only logged (``-v``).
    ``--offline`` downloads nothing: such files stay unhashed, with a warning each."""
    wanted = {f.url: f for f in files if f.sha256 is None}
    if offline:
        return {}, [
            f"{f.filename}: the index gave no sha256 and --offline forbids downloading it; "
            "its lock line has no --hash, so pip install --require-hashes will refuse it"
            for _, f in sorted(wanted.items())
        ]
    futures = {url: submit(_hash_one, http, f) for url, f in sorted(wanted.items())}
    hashes = {url: future.result() for url, future in futures.items()}
    warnings = [
        f"{f.filename}: the index's sha256 for it is not a sha256; ftlock downloaded the file "
        "and locked the hash of what it received"
        for url, f in sorted(wanted.items())
        if f.invalid_hash
    ]
    return hashes, warnings


def _hash_one(http: Http, file: DistFile) -> str:
    downloaded = http.download(file.url, what=f"file {file.filename}")
    with downloaded.file:
        log.info(
            "%s: no sha256 on the index; downloaded %d bytes from %s and locked sha256 %s",
            file.filename, downloaded.size, redact(file.url), downloaded.sha256,
        )
    return downloaded.sha256
