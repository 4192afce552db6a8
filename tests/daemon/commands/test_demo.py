import io

from eegd.daemon.commands.demo import run_demo


async def test_demo_prints_live_labels_and_stops_cleanly():
    out = io.StringIO()
    assert await run_demo(data=None, out=out, seconds=5.0) == 0
    text = out.getvalue()
    assert "SYNTHETIC" in text  # the simulator is said to be synthetic
    assert "daemon status: online" in text
    assert "live view: http://127.0.0.1:" in text  # printed, not opened
    lines = [ln for ln in text.splitlines() if " window " in ln]
    assert {ln.split()[0] for ln in lines} == {"bed1", "bed2"}
    assert "ALERT STATE NORMAL" in text
    assert text.rstrip().endswith("eegd demo: stopped") and "daemon status: offline" in text
