"""Client construction: base URL rule, environment fallback, argument checks."""

from __future__ import annotations

import pytest

from inkbox_async import InvalidArgumentError
from inkbox_async._paths import query_string, segment
from inkbox_sync import Inkbox


@pytest.mark.parametrize(
    "url",
    [
        "https://inkbox.ai",
        "https://inkbox.ai/",
        "HTTPS://inkbox.ai",
        "http://localhost:8000",
        "http://127.0.0.1:1",
        "http://127.4.5.6",
        "http://[::1]:8000",
    ],
)
def test_accepted_base_urls(url: str) -> None:
    with Inkbox("k", base_url=url) as client:
        assert client.base_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://inkbox.ai",
        "ftp://localhost",
        "http://localhost.evil.com",
        "http://10.0.0.1",
        "https://user:pw@inkbox.ai",
        "https://inkbox.ai/?x=1",
        "inkbox.ai",
        "https://",
    ],
)
def test_rejected_base_urls(url: str) -> None:
    with pytest.raises(InvalidArgumentError, match="base_url"):
        Inkbox("k", base_url=url)


def test_environment_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INKBOX_API_KEY", "ApiKey_env")
    monkeypatch.setenv("INKBOX_BASE_URL", "http://127.0.0.1:9")
    client = Inkbox()
    assert client.base_url == "http://127.0.0.1:9"
    assert "ApiKey_env" not in repr(client)
    monkeypatch.delenv("INKBOX_API_KEY")
    with pytest.raises(InvalidArgumentError, match="api_key"):
        Inkbox()


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": "fast"}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"api_key": ""}, "api_key"),
        ({"api_key": "a\nb"}, "api_key"),
        ({"vault_key": ""}, "vault_key"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict[str, object], argument: str) -> None:
    kwargs = {"api_key": "k", **kwargs}
    with pytest.raises(InvalidArgumentError) as info:
        Inkbox(**kwargs)  # type: ignore[arg-type]
    assert info.value.argument == argument


def test_path_segments_and_queries() -> None:
    assert segment("a+b@x.com") == "a+b@x.com"
    assert segment("report #1?.pdf") == "report%20%231%3F.pdf"
    assert segment("../etc/passwd") == "..%2Fetc%2Fpasswd"
    assert segment("100%") == "100%25"
    assert query_string({"phone": "+15551234567", "q": "a b", "cursor": None, "flag": False}) == (
        "phone=%2B15551234567&q=a+b&flag=false"
    )


def test_importing_the_sync_flavour_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, inkbox_sync; from inkbox_sync import Inkbox; Inkbox('k');"
        "print(sorted(m for m in ('anyio','h2','cryptography','httpx2','cattrs','trio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
