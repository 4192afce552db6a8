import subprocess
import sys
import uuid

OUTLET = "pylsl.StreamOutlet(pylsl.StreamInfo('cfg', 'EEG', 1, 100, 'float32', '{sid}'))"


def _stderr_of(imports: str, tmp_path) -> str:
    code = f"{imports}\n{OUTLET.format(sid='eegd-test-cfg-' + uuid.uuid4().hex[:8])}\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_liblsl_info_lines_stay_out_of_eegd_consoles(tmp_path):
    # plain pylsl prints liblsl's INFO lines from C into stderr; through eegd's configuration it does not
    assert "Loaded default config" in _stderr_of("import pylsl", tmp_path)
    assert "INFO|" not in _stderr_of("from eegd.eegstream.sources.liblsl import pylsl", tmp_path)
