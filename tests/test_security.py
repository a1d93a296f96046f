"""Specification: hashes, plain http and credentials.

* Hashes in the lock come from the index; any file ftlock downloads is checked against
  them, and a mismatch is an error (see also tests/test_faults.py for tampered downloads
  and PEP 658 files).  A direct reference's ``#sha256=`` is checked the same way.
* Plain ``http://`` is used only for loopback hosts, or hosts named with
  ``--allow-insecure-host`` (or pip's ``trusted-host``) — for index URLs, file links and
  redirects alike.  Other host names reach the local test servers through the fault proxy
  acting as an HTTP proxy, so nothing leaves 127.0.0.1.
* Credentials, from the index URL or from ``.netrc`` (``$NETRC``), authenticate every
  request to their host and appear nowhere: not in the lock, the logs (``-v``), errors or
  the cache.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.dists import build_wheel
from tests.support.faults import FaultProxy, body, status
from tests.support.cli import error_line

SECRET = "s3cret-t0ken"
TOKEN = base64.b64encode(f"alice:{SECRET}".encode()).decode()


def no_secret_anywhere(*texts: str | None, cache: Path | None = None) -> None:
    for text in texts:
        if text:
            assert SECRET not in text
            assert TOKEN not in text
    if cache is not None and cache.exists():
        files = [p for p in cache.rglob("*") if p.is_file()]
        for path in files:
            data = path.read_bytes()
            assert SECRET.encode() not in data and TOKEN.encode() not in data, path


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTLOCK_RETRY_BACKOFF", "0")
    monkeypatch.delenv("NETRC", raising=False)
    monkeypatch.delenv("PIP_TRUSTED_HOST", raising=False)


@pytest.fixture
def upstream(local_index, dists_dir):  # type: ignore[no-untyped-def]
    index = local_index(pep658=True)
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["lib"]))
    index.add(build_wheel(dists_dir, "lib", "1.0"))
    return index


@pytest.fixture
def private(upstream, proxies) -> FaultProxy:  # type: ignore[no-untyped-def]
    """The index behind HTTP Basic auth (alice / SECRET)."""
    return proxies(upstream, auth=("alice", SECRET))


def with_credentials(url: str, password: str = SECRET) -> str:
    return url.replace("http://", f"http://alice:{password}@")


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command line in a subprocess (``-v`` configures logging process-wide)."""
    full_env = {**os.environ, "FTLOCK_RETRY_BACKOFF": "0", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ftlock", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


# --------------------------------------------------------------------------------------
# hashes
# --------------------------------------------------------------------------------------


def test_the_lock_carries_the_index_hashes(upstream, ftlock):
    result = ftlock("solve", "app", index=upstream)

    assert result.exit_code == 0, result.stderr
    for entry in upstream.files:
        assert f"--hash=sha256:{entry.sha256}" in result.lock


def test_a_direct_reference_whose_file_does_not_match_its_url_hash_is_an_error(
    upstream, ftlock, tmp_path
):
    wheel = upstream.get_file("lib-1.0-py3-none-any.whl")
    assert wheel is not None
    url = upstream.file_url(wheel.filename)
    bogus = hashlib.sha256(b"something else").hexdigest()
    out = tmp_path / "out.txt"
    out.write_text("previous lock\n")

    bad = ftlock("solve", f"lib @ {url}#sha256={bogus}", index=upstream, output=out)

    assert bad.exit_code == 1
    line = error_line(bad)
    assert line.startswith(f"error: {url}: the file does not match the sha256 in its URL")
    assert out.read_text() == "previous lock\n"

    good = ftlock("solve", f"lib @ {url}#sha256={wheel.sha256}", index=upstream, output=out)

    assert good.exit_code == 0, good.stderr
    assert f"--hash=sha256:{wheel.sha256}" in out.read_text()


# --------------------------------------------------------------------------------------
# plain http
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--index-url", "--extra-index-url"])
def test_a_plain_http_index_on_another_host_is_refused_naming_it(ftlock, upstream, option):
    args = ["solve", "app", option, "http://index.invalid/simple"]
    if option == "--extra-index-url":
        args += ["--index-url", upstream.url]

    result = ftlock(*args)

    assert result.exit_code == 2
    assert result.lock is None
    assert error_line(result) == (
        "error: index http://index.invalid/simple uses plain http, which anyone on the network "
        "can read and alter: use https, or pass --allow-insecure-host index.invalid"
    )
    assert upstream.count() == 0


def test_the_refusal_never_shows_the_credentials_of_the_url(ftlock):
    result = ftlock("solve", "app", "--index-url", f"http://alice:{SECRET}@index.invalid/simple")

    assert result.exit_code == 2
    line = error_line(result)
    assert "http://index.invalid/simple" in line
    no_secret_anywhere(result.stderr)


@pytest.mark.parametrize(
    "how", ["flag", "flag-with-port", "pip-trusted-host"],
)
def test_an_allowed_insecure_host_is_used(upstream, proxies, ftlock, monkeypatch, how):
    proxy = proxies(upstream)
    monkeypatch.setenv("HTTP_PROXY", proxy.base_url)  # index.invalid -> the local proxy
    url = "http://index.invalid:8080/simple" if how == "flag-with-port" else "http://index.invalid/simple"
    args = ["solve", "app", "--index-url", url]
    if how == "flag":
        args += ["--allow-insecure-host", "index.invalid"]
    elif how == "flag-with-port":
        args += ["--allow-insecure-host", "index.invalid:8080"]
    else:
        monkeypatch.setenv("PIP_TRUSTED_HOST", "other.invalid index.invalid")

    result = ftlock(*args)

    assert result.exit_code == 0, result.stderr
    assert f"--index-url {url}" in result.lock.splitlines()
    assert proxy.count("/simple/app/") == 1
    assert {r.host for r in proxy.log} == {url.split("/")[2]}


def test_check_reads_a_plain_http_index_only_when_allowed(
    upstream, proxies, ftlock, monkeypatch, tmp_path
):
    proxy = proxies(upstream)
    monkeypatch.setenv("HTTP_PROXY", proxy.base_url)  # index.invalid -> the local proxy
    freeze = tmp_path / "freeze.txt"
    freeze.write_text("app==1.0\nlib==1.0\n")
    args = ["check", str(freeze), "--python", "3.11", "--index-url", "http://index.invalid/simple",
            "--cache-dir", str(tmp_path / "cache")]

    refused = ftlock(*args)
    allowed = ftlock(*args, "--allow-insecure-host", "index.invalid", "--timeout", "5", "--retries", "0")

    assert refused.exit_code == 2
    assert "--allow-insecure-host index.invalid" in error_line(refused)
    assert allowed.exit_code == 0, allowed.stderr
    assert "2 packages checked, 0 problem(s)" in allowed.stderr
    assert proxy.count("/simple/app/") == 1


def test_the_allowance_is_per_host(upstream, ftlock):
    result = ftlock(
        "solve", "app", "--index-url", "http://index.invalid/simple",
        "--allow-insecure-host", "other.invalid",
    )

    assert result.exit_code == 2
    assert "--allow-insecure-host index.invalid" in error_line(result)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_loopback_indexes_need_no_flag(upstream, ftlock, host):
    url = upstream.url.replace("127.0.0.1", host)

    result = ftlock("solve", "app", "--index-url", url)

    assert result.exit_code == 0, result.stderr


def _links_on(host: str):  # type: ignore[no-untyped-def]
    return body(lambda page: page.replace(b'"../../files/', f'"http://{host}/files/'.encode()))


def test_a_file_link_to_a_plain_http_host_is_refused(upstream, proxies, ftlock, monkeypatch):
    proxy = proxies(upstream)
    proxy.inject("/simple/lib/", _links_on("files.invalid"), times=None)
    monkeypatch.setenv("HTTP_PROXY", proxy.base_url)

    refused = ftlock("solve", "app", "--index-url", proxy.url)

    assert refused.exit_code == 1
    assert error_line(refused) == (
        "error: refusing plain-http http://files.invalid/files/lib-1.0-py3-none-any.whl.metadata: "
        "use https, or pass --allow-insecure-host files.invalid"
    )
    assert not any(r.host == "files.invalid" for r in proxy.log)

    allowed = ftlock(
        "solve", "app", "--index-url", proxy.url, "--allow-insecure-host", "files.invalid"
    )

    assert allowed.exit_code == 0, allowed.stderr
    assert any(r.host == "files.invalid" for r in proxy.log)


def test_a_redirect_to_a_plain_http_host_is_refused(upstream, proxies, ftlock, monkeypatch):
    proxy = proxies(upstream)
    proxy.inject(
        "/simple/app/",
        status(302, headers={"Location": "http://mirror.invalid/simple/app/"}),
        times=None,
    )
    monkeypatch.setenv("HTTP_PROXY", proxy.base_url)

    result = ftlock("solve", "app", "--index-url", proxy.url, "--retries", "0")

    assert result.exit_code == 1
    assert error_line(result) == (
        "error: refusing plain-http http://mirror.invalid/simple/app/ "
        f"(redirected from {proxy.url}/app/): use https, or pass --allow-insecure-host "
        "mirror.invalid"
    )
    assert not any(r.host == "mirror.invalid" for r in proxy.log)


# --------------------------------------------------------------------------------------
# credentials
# --------------------------------------------------------------------------------------


def test_without_credentials_a_private_index_fails_with_one_line_and_no_retry(private, ftlock):
    result = ftlock("solve", "app", "--index-url", private.url, "--retries", "3")

    assert result.exit_code == 1
    assert error_line(result) == (
        f"error: {private.url}/app/: HTTP 401 Unauthorized "
        "(give credentials in the index URL or in .netrc)"
    )
    assert private.count() == 1


def test_credentials_in_the_index_url_authenticate_pages_and_files(private, ftlock, tmp_path):
    result = ftlock("solve", "app", "--index-url", with_credentials(private.url))

    assert result.exit_code == 0, result.stderr
    assert private.count("/files/*") >= 2
    assert all(r.authorization == f"Basic {TOKEN}" for r in private.log)
    assert f"--index-url {private.url}" in result.lock.splitlines()
    no_secret_anywhere(result.lock, result.stdout, result.stderr, cache=tmp_path / "cache")


def test_credentials_given_with_an_equals_sign_stay_out_of_the_lock_header(private, ftlock):
    result = ftlock("solve", "app", f"--index-url={with_credentials(private.url)}")

    assert result.exit_code == 0, result.stderr
    assert f"--index-url={private.url}" in result.lock
    no_secret_anywhere(result.lock)


def test_wrong_credentials_fail_without_showing_them(private, ftlock):
    result = ftlock("solve", "app", "--index-url", with_credentials(private.url, "wr0ng-pass"))

    assert result.exit_code == 1
    line = error_line(result)
    assert "HTTP 401" in line
    assert "wr0ng-pass" not in result.stderr


def test_credentials_from_netrc_authenticate(private, ftlock, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1\n  login alice\n  password {SECRET}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))

    result = ftlock("solve", "app", "--index-url", private.url)

    assert result.exit_code == 0, result.stderr
    assert all(r.authorization == f"Basic {TOKEN}" for r in private.log)
    no_secret_anywhere(result.lock, result.stderr, cache=tmp_path / "cache")


def test_a_broken_netrc_is_ignored(upstream, ftlock, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine\n")
    monkeypatch.setenv("NETRC", str(netrc))

    result = ftlock("solve", "app", index=upstream)

    assert result.exit_code == 0, result.stderr


def test_credentials_are_sent_only_to_their_own_host(private, local_index, dists_dir, proxies, ftlock):
    other = local_index()
    other.add(build_wheel(dists_dir / "other", "extra-only", "1.0"))
    public = proxies(other)

    result = ftlock(
        "solve", "app", "extra-only", "--index-url", with_credentials(private.url),
        "--extra-index-url", public.url,
    )

    assert result.exit_code == 0, result.stderr
    assert public.count() >= 1
    assert all(r.authorization is None for r in public.log)


def test_credentials_of_a_direct_reference_url_stay_out_of_the_lock(private, ftlock, tmp_path):
    url = f"{private.base_url}/files/lib-1.0-py3-none-any.whl"

    result = ftlock(
        "solve", f"lib @ {with_credentials(url)}", "--index-url", with_credentials(private.url)
    )

    assert result.exit_code == 0, result.stderr
    assert f"lib @ {url}" in result.lock
    no_secret_anywhere(result.lock, result.stderr, cache=tmp_path / "cache")


def test_an_error_about_a_url_with_credentials_does_not_show_them(private, ftlock):
    url = f"{private.base_url}/files/missing-1.0-py3-none-any.whl"

    result = ftlock(
        "solve", f"missing @ {with_credentials(url)}", "--index-url", with_credentials(private.url)
    )

    assert result.exit_code == 1
    line = error_line(result)
    assert url in line
    no_secret_anywhere(result.stderr)


@pytest.mark.parametrize("source", ["url", "netrc"])
def test_verbose_logs_never_show_credentials(private, tmp_path, source):
    env = {"PIP_CONFIG_FILE": os.devnull, "NO_PROXY": "127.0.0.1,localhost"}
    index_url = with_credentials(private.url) if source == "url" else private.url
    if source == "netrc":
        netrc = tmp_path / "netrc"
        netrc.write_text(f"machine 127.0.0.1 login alice password {SECRET}\n")
        env["NETRC"] = str(netrc)
    out = tmp_path / "lock.txt"

    result = run_cli(
        "solve", "app", "-v", "--index-url", index_url, "--python", "3.11",
        "--platform", "linux_x86_64", "--cache-dir", str(tmp_path / "cache"), "-o", str(out),
        env=env,
    )

    assert result.returncode == 0, result.stderr
    assert "GET " in result.stderr  # the debug log is there ...
    no_secret_anywhere(result.stderr, result.stdout, out.read_text(), cache=tmp_path / "cache")
