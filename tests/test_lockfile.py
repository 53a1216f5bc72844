"""uv.lock must record exactly the requirements pyproject.toml declares (else `make lock`)."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _declared(pyproject: dict[str, object]) -> set[tuple[str, str, str, str]]:
    project = pyproject["project"]
    assert isinstance(project, dict)
    wanted: list[tuple[str, str | None]] = [(d, None) for d in project["dependencies"]]
    for extra, deps in project.get("optional-dependencies", {}).items():
        wanted += [(d, extra) for d in deps]
    rows = set()
    for text, extra in wanted:
        req = Requirement(text)
        marker = f"extra == '{extra}'" if extra else (str(req.marker) if req.marker else "")
        rows.add(
            (canonicalize_name(req.name), ",".join(sorted(req.extras)), str(req.specifier), marker)
        )
    return rows


def _locked(lock: dict[str, object]) -> set[tuple[str, str, str, str]]:
    packages = lock["package"]
    assert isinstance(packages, list)
    (own,) = [p for p in packages if p.get("source", {}).get("editable") == "."]
    rows = set()
    for dep in own["metadata"]["requires-dist"]:
        rows.add(
            (
                canonicalize_name(dep["name"]),
                ",".join(sorted(dep.get("extras", []))),
                str(Requirement(f"x{dep.get('specifier', '')}").specifier),
                dep.get("marker", ""),
            )
        )
    return rows


def test_lock_records_the_requirements_pyproject_declares() -> None:
    """Every dependency range in pyproject.toml is the one uv.lock was resolved from."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    declared, locked = _declared(pyproject), _locked(lock)
    assert declared == locked, (
        f"pyproject.toml and uv.lock disagree; run `make lock`. "
        f"only in pyproject: {sorted(declared - locked)}; only in lock: {sorted(locked - declared)}"
    )


def test_the_lock_pins_every_package_with_hashes() -> None:
    """Each locked registry package has one version and a sha256 for what is downloaded."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    for package in lock["package"]:
        if "registry" not in package.get("source", {}):
            continue
        assert package["version"], package["name"]
        files = [package.get("sdist"), *package.get("wheels", [])]
        hashes = [f["hash"] for f in files if f]
        assert hashes, package["name"]
        assert all(h.startswith("sha256:") for h in hashes), package["name"]
