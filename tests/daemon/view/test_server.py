"""The view's server: who may read the feed, and what a page gets."""

import asyncio
from pathlib import Path

import aiohttp
import pytest

from eegd.daemon.cli import main
from eegd.daemon.service.config import MqttConfig, check_mqtt
from eegd.daemon.view.server import COOKIE, ViewConfig, ViewError, ViewServer, check


def test_a_bind_beyond_loopback_needs_a_secret(tmp_path, capsys):
    with pytest.raises(ViewError, match="not loopback"):
        check(ViewConfig(host="0.0.0.0"))
    check(ViewConfig(host="::1"))  # loopback is fine without
    assert main(["view", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "--secret-file" in capsys.readouterr().err
    (tmp_path / "short").write_text("abc\n")
    assert main(["view", "--host", "0.0.0.0", "--secret-file", str(tmp_path / "short")]) == 2


async def test_with_a_secret_the_feed_needs_the_login_cookie(mosquitto, publisher):
    server = ViewServer(ViewConfig(port=0, secret="correct horse battery"),
                        check_mqtt(MqttConfig(host=mosquitto.host, port=mosquitto.port), Path(".")))
    ready = asyncio.Event()
    task = asyncio.create_task(server.run(ready))
    await ready.wait()
    publisher.alert("bed1", "seizure")
    try:  # the browser's part: a cookie jar that keeps cookies of a numeric host
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            async with s.get(server.url + "events") as r:
                assert r.status == 401
            async with s.get(server.url) as r:
                assert "Log in" in await r.text()  # the login page, not the ward
            async with s.post(server.url + "login", data={"secret": "guess"}, allow_redirects=False) as r:
                assert r.status == 302 and COOKIE not in r.cookies
            async with s.post(server.url + "login", data={"secret": "correct horse battery"},
                              allow_redirects=False) as r:
                assert r.status == 302
                morsel = r.cookies[COOKIE]
                assert morsel["httponly"] and morsel["samesite"] == "Strict"
            async with s.get(server.url + "events", headers={"Origin": "http://evil.example"}) as r:
                assert r.status == 403  # another site's page may not read the feed
            async with s.get(server.url + "events") as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
                assert "default-src 'self'" in r.headers["Content-Security-Policy"]
                async def lines():
                    while True:
                        yield await r.content.readline()

                async def seizure_seen():  # in the snapshot, or as soon as the retained alert reaches the server
                    async for line in lines():
                        if b'"state":"seizure"' in line:
                            return True

                assert await asyncio.wait_for(seizure_seen(), 5)
    finally:
        server.stop.set()
        await task


async def test_the_page_and_its_assets_ship_in_the_package(view):
    async with aiohttp.ClientSession() as s:
        for name, kind in (("", "text/html"), ("view.js", "text/javascript"), ("view.css", "text/css")):
            async with s.get(view.url + name) as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith(kind)
        async with s.get(view.url + "../pyproject.toml") as r:
            assert r.status == 404
        html = await (await s.get(view.url)).text()
        assert "http" not in html.replace('name="viewport"', "")  # no CDN: every asset is local


async def test_a_message_the_page_cannot_show_is_left_out_and_the_feed_goes_on(view, publisher, caplog):
    async with aiohttp.ClientSession() as s, s.get(view.url + "events") as r:
        async def alarm_of(stream: str):
            while f'"stream":"{stream}"'.encode() not in (line := await r.content.readline()) \
                    or b'"seizure"' not in line:
                pass

        publisher.alert("bed0", "seizure")
        await asyncio.wait_for(alarm_of("bed0"), 5)  # the view reads the broker
        # another client on the broker sends a prediction with `probs` as a list and a status that is no object:
        # before, the view's broker reader stopped at the first and the page froze
        publisher.send("eegd/bed1/prediction", {"schema": 1, "stream": "bed1", "t_end": 1.0, "probs": [0.9]}, qos=1)
        publisher.send("eegd/status", [1], retain=True, qos=1)
        publisher.alert("bed2", "seizure")
        await asyncio.wait_for(alarm_of("bed2"), 5)
    assert view.state.refused == 2 and "bed1" not in view.state.streams
    assert "eegd/bed1/prediction: not JSON, or without what the page shows" in caplog.text
