"""The built wheel installs one `eegd` package that runs beside python-daemon, and leaves `import daemon` to it."""

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    (found,) = out.glob("eegd-*.whl")
    return found


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory, wheel) -> Path:
    """A new venv with the wheel alone (--no-deps); its dependencies come from the test venv through a .pth file
    (resolving torch afresh would pull a CUDA build of several GB)."""
    root = tmp_path_factory.mktemp("venv") / "v"
    venv.create(root, with_pip=True)
    python = root / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "test-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return root


def test_wheel_holds_only_the_eegd_namespace_and_the_bundled_checkpoints(wheel):
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"eegd"}
    assert "eegd/models/weights/conv_lstm.safetensors" in names and "eegd/daemon/service/service.py" in names
    assert not [n for n in names if n.startswith("eegd/tests")]


def test_installed_wheel_runs_beside_python_daemon(fresh_venv, tmp_path):
    python, eegd = fresh_venv / "bin" / "python", fresh_venv / "bin" / "eegd"
    run = subprocess.run([eegd, "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0 and "crossval" in run.stdout
    code = ("import daemon, eegd.daemon.cli, eegd.models.inference, sys; "
            "print(hasattr(daemon, 'DaemonContext')); print(eegd.daemon.cli.__file__); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('models', 'eegstream')))")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True,
                         timeout=120).stdout.splitlines()
    assert out[0] == "True"  # `import daemon` is python-daemon's (its DaemonContext), not eegd's folder
    assert str(fresh_venv) in out[1]  # eegd from the wheel, not the checkout
    assert out[2] == "[]"


def test_importing_eegd_adds_no_top_level_daemon_models_or_eegstream(tmp_path):
    code = ("import sys, eegd.daemon.cli, eegd.daemon.service.service, eegd.models.offline.training, "
            "eegd.eegstream.sources.lsl; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('daemon', 'models', 'eegstream')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert out.stdout.strip() == "[]"
