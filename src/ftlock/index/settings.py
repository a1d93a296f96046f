"""Which indexes to ask, in which order, and how to talk to them (TLS, proxies).

Selection follows pip so that a lock made by ftlock installs with the same pip set-up:
``--index-url``/``--extra-index-url`` first, else ``PIP_INDEX_URL``/``PIP_EXTRA_INDEX_URL``,
else pip's configuration files, else pip's own default index (read from pip itself so the
address is never written here).  Unlike pip, a project is taken from the *first* index that
has it and never merged across indexes, which closes the dependency-confusion hole.
"""

from __future__ import annotations

import configparser
from collections.abc import Iterator
import fnmatch
import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import msgspec

from ftlock._values import replace
from ftlock._urls import _host_allowed, is_local_host, is_secure_url, origin, redact, redact_text, split_credentials  # noqa: F401 - re-exported: index settings speak in these terms
from ftlock.errors import UsageError


def _normalise(url: str) -> str:
    url = url.strip()
    if not url:
        raise UsageError("empty index URL")
    if "://" not in url:
        try:
            path = Path(url).expanduser().resolve()
        except RuntimeError as exc:  # ~user of an unknown user
            raise UsageError(f"index path {url!r}: {exc}") from None
        return path.as_uri()
    try:
        scheme = urlsplit(url).scheme
    except ValueError as exc:
        raise UsageError(f"index URL {redact(url)!r}: {exc}") from None
    if scheme not in ("http", "https", "file"):
        raise UsageError(f"index URL {redact(url)!r}: only http, https and file URLs are supported")
    return url.rstrip("/")


def pip_default_index() -> str:
    """pip's built-in default index, asked of pip so no registry address is hard-coded."""
    try:
        from pip._internal.models.index import PyPI  # noqa: PLC0415 - optional dependency
    except Exception as exc:  # pragma: no cover - depends on the installation
        raise UsageError(
            "no package index configured and pip is not importable to provide its default; "
            "pass --index-url or set PIP_INDEX_URL"
        ) from exc
    return PyPI.simple_url.rstrip("/")


def pip_config_files() -> list[Path]:
    """pip's configuration files, lowest priority first (global, user, site)."""
    env_file = os.environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    files: list[Path] = []
    xdg_dirs = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files += [Path(d) / "pip" / "pip.conf" for d in reversed(xdg_dirs.split(os.pathsep)) if d]
    files.append(Path("/etc/pip.conf"))
    # pip reads the user's files only when PIP_CONFIG_FILE does not name an existing file
    if not (env_file and Path(env_file).exists()):
        home = Path.home()
        xdg_home = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        files += [home / ".pip" / "pip.conf", xdg_home / "pip" / "pip.conf"]
    if sys.platform == "win32":  # pragma: no cover
        appdata = os.environ.get("APPDATA")
        if appdata:
            files.append(Path(appdata) / "pip" / "pip.ini")
    files.append(Path(sys.prefix) / ("pip.ini" if sys.platform == "win32" else "pip.conf"))
    if env_file:
        files.append(Path(env_file))
    return files


def iter_pip_settings(files: list[Path]) -> Iterator[tuple[str, str, str, Path]]:
    """``(name, value, section, file)`` of every ``[global]`` then ``[install]`` setting of
    pip's configuration files, in pip's order (later ones win); unreadable files are
    skipped, as pip does."""
    for path in files:
        if not path.is_file():
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        for section in ("global", "install"):
            if parser.has_section(section):
                for key, value in parser.items(section):
                    yield key.replace("_", "-"), value, section, path


def read_pip_config(files: list[Path] | None = None) -> dict[str, str]:
    """The merged ``[global]`` then ``[install]`` settings of pip's configuration files."""
    files = pip_config_files() if files is None else files
    return {name: value for name, value, _, _ in iter_pip_settings(files)}


class IndexSettings(msgspec.Struct, frozen=True):
    """The ordered indexes and connection settings of one solve."""

    urls: tuple[str, ...]  # without credentials: safe to log, cache and write
    cert: str | None = None
    default_url: str | None = None  # the index pip would use with no configuration at all
    credentials: tuple[tuple[str, str, str], ...] = ()  # (origin, user, password)
    #: hosts plain http may be used with: --allow-insecure-host, pip's trusted-host
    insecure_hosts: tuple[str, ...] = ()
    #: per-project routing, ``(name pattern, index urls, then the configured ones too)``: a
    #: project matching a pattern is looked up on those indexes (first that has it wins)
    #: instead of ``urls`` — e.g. the torch family on a PyTorch CUDA index
    routes: tuple[tuple[str, tuple[str, ...], bool], ...] = ()

    def urls_for(self, name: str) -> tuple[str, ...]:
        """The indexes to ask for project ``name``, in order."""
        for pattern, urls, then_configured in self.routes:
            if fnmatch.fnmatchcase(name, pattern):
                return urls + tuple(u for u in self.urls if u not in urls) if then_configured else urls
        return self.urls

    @property
    def all_urls(self) -> tuple[str, ...]:
        """Every index of the solve: the configured ones, then routed ones."""
        extra = [u for _, urls, _ in self.routes for u in urls if u not in self.urls]
        return self.urls + tuple(dict.fromkeys(extra))

    def with_routes(self, routes: tuple[tuple[str, tuple[str, ...], bool], ...]) -> IndexSettings:
        """These settings with ``routes`` (their URLs normalised and checked like any index)."""
        checked = []
        for pattern, urls, then_configured in routes:
            normalised = []
            for url in urls:
                url = _normalise(url)
                if urlsplit(url).username is not None:
                    raise UsageError(f"index {redact(url)}: credentials belong in netrc or keyring, not in a routed index URL")
                if not is_secure_url(url, self.insecure_hosts):
                    host = urlsplit(url).hostname or ""
                    raise UsageError(
                        f"index {url} uses plain http, which anyone on the network can read and "
                        f"alter: use https, or pass --allow-insecure-host {host}"
                    )
                normalised.append(url)
            checked.append((pattern, tuple(normalised), then_configured))
        return replace(self, routes=tuple(checked))

    @classmethod
    def discover(
        cls,
        index_url: str | None = None,
        extra_index_urls: tuple[str, ...] = (),
        environ: dict[str, str] | None = None,
        config: dict[str, str] | None = None,
        allow_insecure_hosts: tuple[str, ...] = (),
    ) -> IndexSettings:
        env = os.environ if environ is None else environ
        conf = read_pip_config() if config is None else config
        insecure = list(allow_insecure_hosts)
        insecure += env.get("PIP_TRUSTED_HOST", "").split()
        insecure += conf.get("trusted-host", "").split()
        primary = index_url or env.get("PIP_INDEX_URL") or conf.get("index-url")
        if extra_index_urls:
            extras = list(extra_index_urls)
        elif env.get("PIP_EXTRA_INDEX_URL"):
            extras = env["PIP_EXTRA_INDEX_URL"].split()
        else:
            extras = conf.get("extra-index-url", "").split()
        default = None
        if not primary:
            primary = default = pip_default_index()
        urls: list[str] = []
        credentials: list[tuple[str, str, str]] = []
        for url in (primary, *extras):
            normalised = _normalise(url)
            parts = urlsplit(normalised)
            if parts.username is not None:
                credentials.append(
                    (origin(normalised), unquote(parts.username), unquote(parts.password or ""))
                )
                normalised = redact(normalised)
            if not is_secure_url(normalised, tuple(insecure)):
                host = urlsplit(normalised).hostname or ""
                raise UsageError(
                    f"index {redact(normalised)} uses plain http, which anyone on the network "
                    f"can read and alter: use https, or pass --allow-insecure-host {host}"
                )
            if normalised not in urls:
                urls.append(normalised)
        cert = (
            env.get("PIP_CERT")
            or conf.get("cert")
            or env.get("SSL_CERT_FILE")
            or env.get("REQUESTS_CA_BUNDLE")
        )
        return cls(
            tuple(urls),
            cert=cert or None,
            default_url=default,
            credentials=tuple(credentials),
            insecure_hosts=tuple(dict.fromkeys(h for h in insecure if h)),
        )
