"""The live view in a real browser (Debian chromium driven by Playwright), fed by a real Mosquitto."""

import asyncio
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOT = ROOT / "build" / "view.png"  # docs/images/view.png is a copy of the one the smoothness test takes

# collected in the page from its first script on: long main-thread tasks and animation-frame intervals
PERF = """
window.__perf = {longtasks: [], frames: []};
new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__perf.longtasks.push(e.duration); })
  .observe({type: "longtask", buffered: true});
let last = performance.now();
requestAnimationFrame(function tick(now) {
  window.__perf.frames.push(now - last); last = now; requestAnimationFrame(tick);
});
"""


async def until(page, expression: str, timeout_s: float) -> None:
    """Poll a JavaScript expression from outside (the page's CSP forbids Playwright's in-page polling)."""
    deadline = time.monotonic() + timeout_s
    while not await page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true within {timeout_s} s: {expression}"
        await asyncio.sleep(0.05)


async def tile(page, stream):
    return page.locator(f'section.tile[data-stream="{stream}"]')


async def test_a_seizure_alert_turns_its_tile_red_within_2_s(view, publisher, page):
    publisher.status("online", ["bed1", "bed2"])
    for seq in range(3):
        publisher.prediction("bed1", seq, channels={"T3": {"label": "normal", "probs": {"seizure": 0.1}},
                                                     "T4": {"label": "normal", "probs": {"seizure": 0.0}}})
        publisher.prediction("bed2", seq)
    await page.goto(view.url)
    bed1 = await tile(page, "bed1")
    await bed1.wait_for(timeout=5000)
    assert "online" in await page.locator("#daemon").inner_text()
    t0 = time.monotonic()
    publisher.alert("bed1", "seizure", since=12.5)
    await page.wait_for_selector('section.tile.state-seizure[data-stream="bed1"]', timeout=2000)
    assert time.monotonic() - t0 < 2.0
    colour = await bed1.evaluate("el => getComputedStyle(el).borderLeftColor")
    assert colour == "rgb(198, 40, 40)"  # red
    assert "since t=12.5" in await bed1.inner_text()
    first = await page.locator("section.tile").first.get_attribute("data-stream")
    assert first == "bed1"  # alarms first
    await bed1.click()  # its channels' labels
    await page.wait_for_selector('section.tile[data-stream="bed1"] .channels li:has-text("T3")', timeout=2000)


async def test_an_offline_daemon_shows_and_a_stream_cleared_by_discovery_leaves(view, publisher, page):
    publisher.status("online", ["bed1", "bed2"])
    publisher.alert("bed1", "normal")
    publisher.alert("bed2", "normal")
    await page.goto(view.url)
    await (await tile(page, "bed2")).wait_for(timeout=5000)
    publisher.send("eegd/bed2/alert", None, retain=True, qos=1)  # discovery dropped it: retained alert cleared
    await (await tile(page, "bed2")).wait_for(state="detached", timeout=3000)
    assert await (await tile(page, "bed1")).count() == 1
    publisher.status("offline")
    await until(page, "document.getElementById('daemon').textContent.includes('OFFLINE')", 3)
    await page.wait_for_selector('section.tile.stale[data-stream="bed1"]', timeout=3000)


@pytest.mark.slow
async def test_200_streams_stay_smooth_for_30_s(view, publisher, page):
    n, rate, seconds = 200, 173.61 / 30, 30.0
    streams = [f"bed{i:03d}" for i in range(n)]
    publisher.status("online", streams)
    stop = threading.Event()

    def feed():  # 200 streams x 5.8 predictions a second, a few seizure alarms coming and going
        rng, seq, t0 = np.random.default_rng(0), 0, time.monotonic()
        while not stop.is_set():
            due = int((time.monotonic() - t0) * rate)
            while seq < due:
                for s in streams:
                    publisher.prediction(s, seq, float(rng.uniform(0, 0.2)))
                if seq % 29 == 0:
                    publisher.alert(streams[int(rng.integers(n))], str(rng.choice(["seizure", "normal", "tumor"])),
                                    since=seq * 0.17)
                seq += 1
            time.sleep(0.01)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        await page.add_init_script(PERF)
        await page.goto(view.url)
        await until(page, f"window.eegdView && window.eegdView.streams.size >= {n}", 15)
        await asyncio.sleep(2.0)  # the first snapshot and layout are not the steady state
        await page.evaluate("window.__perf.longtasks = []; window.__perf.frames = []")
        await asyncio.sleep(seconds)
        perf = await page.evaluate("window.__perf")
        frames, longtasks = np.array(perf["frames"]), perf["longtasks"]
        print(f"\n200 streams, {seconds:.0f} s: {len(frames)} frames, interval p50 {np.percentile(frames, 50):.1f} ms, "
              f"p95 {np.percentile(frames, 95):.1f} ms, max {frames.max():.1f} ms; long tasks {len(longtasks)}, "
              f"longest {max(longtasks, default=0.0):.0f} ms")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        await page.screenshot(path=str(SCREENSHOT))
    finally:
        stop.set()
        feeder.join(5)
    # What a user sees is the frame rate and freezes. The browser shares the 2 cores with this process's publisher
    # and server, so the scheduler can stretch one task past 50 ms now and then (61 ms in one run of 30 s): a few
    # such tasks are allowed, a freeze (a task over 150 ms) or a steady stream of them is not.
    assert np.percentile(frames, 95) < 50
    assert len(longtasks) <= 3
    assert max(longtasks, default=0.0) <= 150
