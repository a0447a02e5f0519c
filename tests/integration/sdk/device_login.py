"""A person approving a device login in Keycloak's pages, done with httpx: the login form,
then the consent form. Keycloak sets its session cookies ``Secure`` even on plain http, which
httpx rightly will not send back over http, so this keeps its own cookie jar."""

from __future__ import annotations

import html
import html.parser

import httpx


class _Forms(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.forms.append({"action": found.get("action") or "", "fields": {}, "submits": []})
        elif tag in ("input", "button") and self.forms and found.get("name"):
            form = self.forms[-1]
            name, value = str(found["name"]), found.get("value") or ""
            if found.get("type") == "submit" or tag == "button":
                form["submits"].append((name, value))  # type: ignore[attr-defined]
            else:
                form["fields"][name] = value  # type: ignore[index]


def approve_device(url: str, username: str, password: str) -> str:
    """Open ``url`` (verification_uri_complete), log in, grant; returns the last page's text."""
    jar: dict[str, str] = {}
    with httpx.Client(timeout=30) as web:

        def send(method: str, target: str, data: dict[str, str] | None = None) -> httpx.Response:
            for _ in range(10):
                cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
                answer = web.request(method, target, data=data, headers={"Cookie": cookie})
                for line in answer.headers.get_list("set-cookie"):
                    name, _, rest = line.partition("=")
                    jar[name.strip()] = rest.split(";", 1)[0]
                if answer.status_code not in (301, 302, 303):
                    return answer
                target = str(answer.url.join(answer.headers["location"]))
                method, data = "GET", None
            raise AssertionError("too many redirects")

        page = send("GET", url)
        for _ in range(5):
            parser = _Forms()
            parser.feed(page.text)
            if not parser.forms:
                return " ".join(html.unescape(page.text).split())
            form = parser.forms[0]
            fields: dict[str, str] = dict(form["fields"])  # type: ignore[call-overload]
            if "username" in fields or "password" in fields:
                fields.update(username=username, password=password)
            for name, value in form["submits"]:  # type: ignore[attr-defined]
                if name in ("accept", "login"):
                    fields[name] = value or "Yes"
            action = str(page.url.join(html.unescape(str(form["action"]))))
            page = send("POST", action, fields)
    raise AssertionError("the device login did not finish")
