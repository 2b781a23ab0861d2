"""The wheel installs v2abench with models/ and metrics/ mapped to v2abench.models / v2abench.metrics."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from v2abench import paths


def test_every_package_is_listed_in_pyproject() -> None:
    import tomllib

    listed = set(tomllib.loads((paths.REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    prefix = {"v2abench": "v2abench", "models": "v2abench.models", "metrics": "v2abench.metrics", "configs": "v2abench.configs"}
    found = set()
    for top, name in prefix.items():
        for init in (paths.REPO_ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(paths.REPO_ROOT / top).parts
            found.add(".".join((name, *rel)))
    assert found == listed


def test_wheel_installs_and_imports_a_backend(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(paths.REPO_ROOT)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    wheel = next(dist.glob("v2abench-*.whl"))
    env_dir = tmp_path / "scratch"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    scratch_site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True, text=True).stdout.strip())
    # the project's dependencies come from the current environment (no second torch download)
    (scratch_site / "_v2abench_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True)
    probe = (
        "import v2abench.models.baselines as b, v2abench.metrics.onset as o, v2abench.paths as p;"
        "from v2abench.registry import REGISTRY;"
        "g = REGISTRY.build('silence', 'generator');"
        "print(b.__file__); print(o.__file__); print(p.configs_dir()); print(g.meta.name)"
    )
    out = subprocess.run([str(py), "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path).stdout.split()
    assert all(str(scratch_site) in line for line in out[:3]), out
    assert (Path(out[2]) / "benchmarks" / "synthfoley.yaml").is_file()
    assert out[3] == "silence"
