"""Register the pinned solc where py-solc-x and brownie look for it.

py-solc-x (and brownie through it) uses ``<install folder>/solc-v<version>``, the folder
being ``$SOLCX_BINARY_PATH`` or ``~/.solcx``. A native solc of the pinned version is
preferred: one already there, or one on PATH. Otherwise solc-js from node_modules is
copied beside the adapter (scripts/solc_adapter.js) into ``solcjs-v<version>/`` and a
small launcher is written as ``solc-v<version>``, so the registration does not depend
on this checkout staying where it is.

    python -m scripts.install_solc          # idempotent; prints what it registered
    python -m scripts.install_solc --path   # the same, printing only the solc path
"""
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import yaml
from solcx.install import get_solcx_install_folder
from solcx.wrapper import get_solc_version

ROOT = Path(__file__).resolve().parent.parent
ADAPTER_SOURCE = ROOT / "scripts" / "solc_adapter.js"
NODE_MODULES = ROOT / "node_modules"
LAUNCHER_MARKER = "# solc-js adapter launcher"


class SetupError(Exception):
    """A set-up step that cannot go on; its message is shown as one line."""


def pinned_version() -> str:
    config = yaml.safe_load((ROOT / "brownie-config.yaml").read_text())
    return str(config["compiler"]["solc"]["version"])


def binary_version(binary: Path) -> str | None:
    try:
        return str(get_solc_version(binary))
    except Exception:
        return None


def is_adapter_launcher(path: Path) -> bool:
    try:
        return LAUNCHER_MARKER in path.read_text(errors="ignore")[:200]
    except OSError:
        return False


def find_native_solc(version: str) -> Path | None:
    found = shutil.which("solc")
    if found and not is_adapter_launcher(Path(found)) and binary_version(Path(found)) == version:
        return Path(found)
    return None


def package_tree(name: str, seen: set[str] | None = None) -> set[str]:
    """The npm package and everything it depends on, as installed in node_modules."""
    seen = set() if seen is None else seen
    if name in seen:
        return seen
    manifest = NODE_MODULES / name / "package.json"
    if not manifest.is_file():
        raise SetupError(f"node_modules/{name} is missing; run 'npm ci'")
    seen.add(name)
    for dependency in json.loads(manifest.read_text()).get("dependencies", {}):
        package_tree(dependency, seen)
    return seen


def fingerprint(version: str, node: str) -> str:
    digest = hashlib.sha256(ADAPTER_SOURCE.read_bytes())
    digest.update(f"{version}|{node}|".encode())
    for name in sorted(package_tree("solc")):
        digest.update(f"{name}@{json.loads((NODE_MODULES / name / 'package.json').read_text())['version']};".encode())
    return digest.hexdigest()


def install_adapter(version: str, folder: Path) -> Path:
    node = shutil.which("node")
    if not node:
        raise SetupError("node is not on PATH: the solc-js adapter needs Node.js >= 18 (apt-get install nodejs npm)")
    solcjs_version = json.loads((NODE_MODULES / "solc" / "package.json").read_text())["version"] \
        if (NODE_MODULES / "solc" / "package.json").is_file() else None
    if solcjs_version != version:
        raise SetupError(f"node_modules/solc is {solcjs_version or 'not installed'} but brownie-config.yaml pins {version}; run 'npm ci'")

    home = folder / f"solcjs-v{version}"
    launcher = folder / f"solc-v{version}"
    stamp = fingerprint(version, node)
    if (home / ".fingerprint").is_file() and (home / ".fingerprint").read_text() == stamp \
            and launcher.is_file() and binary_version(launcher) == version:
        return launcher

    # Build the copy beside the target, then swap it in, so a failed copy leaves no half state.
    staging = Path(tempfile.mkdtemp(prefix=f".solcjs-v{version}-", dir=folder))
    staging.chmod(0o755)
    for name in package_tree("solc"):
        shutil.copytree(NODE_MODULES / name, staging / "node_modules" / name)
    shutil.copy2(ADAPTER_SOURCE, staging / "solc_adapter.js")
    (staging / ".fingerprint").write_text(stamp)
    if home.exists():
        shutil.rmtree(home)
    staging.rename(home)

    launcher_tmp = folder / f".solc-v{version}.tmp"
    launcher_tmp.write_text(
        "#!/bin/sh\n"
        f"{LAUNCHER_MARKER} (solc {version} via solc-js, written by scripts/install_solc.py)\n"
        f'NODE="{node}"\n'
        '[ -x "$NODE" ] || NODE=$(command -v node) || { echo "solc adapter: node not found on PATH; install Node.js >= 18" >&2; exit 127; }\n'
        f'exec "$NODE" "{home / "solc_adapter.js"}" "$@"\n'
    )
    launcher_tmp.chmod(0o755)
    launcher_tmp.replace(launcher)
    found = binary_version(launcher)
    if found != version:
        raise SetupError(f"the adapter at {launcher} answers version {found}, expected {version}")
    return launcher


def install(version: str | None = None) -> tuple[Path, str]:
    """Make solc <version> available to py-solc-x; returns (path, 'native' | 'solc-js')."""
    version = version or pinned_version()
    folder = get_solcx_install_folder()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"solc-v{version}"
    if target.is_file() and not is_adapter_launcher(target) and binary_version(target) == version:
        return target, "native"
    native = find_native_solc(version)
    if native:
        if target.exists() or target.is_symlink():
            target.unlink()
        target.symlink_to(native)
        return target, "native"
    return install_adapter(version, folder), "solc-js"


def main() -> int:
    try:
        path, kind = install()
    except SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(path if "--path" in sys.argv[1:] else f"solc {pinned_version()} ({kind}) registered at {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
