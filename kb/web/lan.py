"""The addresses a training room's phones can reach this server at, for `kb serve --host 0.0.0.0`.

Found without sending anything: a UDP socket "connected" to a private address makes the OS pick the outgoing
interface, whose address is read back (no packet leaves), plus the host name's own addresses. The first LAN URL
is put in `KB_PUBLIC_URL`, so the QR codes of presentation sessions name it even when the presenter's browser
opened the app on 127.0.0.1."""

from __future__ import annotations

import os
import socket

from kb.web.present import PUBLIC_URL_ENV

ANY_HOSTS = ("0.0.0.0", "::", "")


def lan_addresses() -> list[str]:
    found: list[str] = []
    for probe in ("10.255.255.255", "192.168.255.255", "172.31.255.255"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((probe, 1))
                found.append(s.getsockname()[0])
        except OSError:
            continue
    try:
        found += socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        pass
    return [a for i, a in enumerate(found) if a not in found[:i] and not a.startswith("127.")]


def announce(host: str, port: int) -> list[str]:
    """Lines for the terminal naming the LAN URLs, and `KB_PUBLIC_URL` set to the first; nothing for loopback."""
    if host not in ANY_HOSTS:
        return []
    urls = [f"http://{a}:{port}" for a in lan_addresses()]
    if not urls:
        return ["listening on every interface, but no LAN address was found: is this machine on the room's network?"]
    os.environ.setdefault(PUBLIC_URL_ENV, urls[0])
    return [f"on the room's network: {u}   (phones follow a presentation at {u}/follow/<session>)" for u in urls]
