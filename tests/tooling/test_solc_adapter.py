"""The solc-js adapter behaves like native solc for py-solc-x, brownie and Slither."""
import json
import subprocess

import pytest
import solcx
from packaging.version import Version
from solcx.exceptions import SolcError, UnknownOption

from scripts import install_solc

VERSION = install_solc.pinned_version()
ROOT = install_solc.ROOT


@pytest.fixture(scope="module")
def solc_binary():
    path, _ = install_solc.install()
    return path


def standard_json(sources: dict, outputs=("abi", "evm.bytecode.object")) -> str:
    return json.dumps({
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {"outputSelection": {"*": {"*": list(outputs)}}},
    })


def run_solc(binary, *args, stdin="", env=None, cwd=None):
    return subprocess.run([str(binary), *args], input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_version_parses_with_py_solc_x(solc_binary):
    assert solcx.wrapper.get_solc_version(solc_binary) == Version(VERSION)
    assert Version(VERSION) in solcx.get_installed_solc_versions()


def test_version_banner_is_native_format(solc_binary):
    lines = run_solc(solc_binary, "--version").stdout.splitlines()
    assert lines[0] == "solc, the solidity compiler commandline interface"
    assert lines[1].startswith(f"Version: {VERSION}+commit.")


def test_install_is_idempotent(solc_binary):
    before = solc_binary.stat().st_mtime_ns
    again, kind = install_solc.install()
    assert again == solc_binary and kind in ("solc-js", "native")
    assert solc_binary.stat().st_mtime_ns == before


def test_compile_standard_through_py_solc_x(solc_binary):
    solcx.set_solc_version(VERSION, silent=True)
    output = solcx.compile_standard(json.loads(standard_json({"A.sol": "pragma solidity ^0.8.0; contract A { uint x; function set(uint v) external { x = v; } }"})))
    assert output["contracts"]["A.sol"]["A"]["evm"]["bytecode"]["object"]


def test_output_over_one_megabyte_arrives_intact(solc_binary):
    contracts = "\n".join(
        f"contract C{i} {{ uint256[] values; event Set{i}(uint256 indexed v, string note);"
        + "".join(f" function f{j}(uint256 v, string calldata note) external returns (uint256) {{ values.push(v + {j}); emit Set{i}(v, note); return values.length; }}" for j in range(12))
        + " }"
        for i in range(40)
    )
    source = "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\n" + contracts
    result = run_solc(solc_binary, "--standard-json", stdin=standard_json({"Big.sol": source}, outputs=("abi", "evm.bytecode", "evm.deployedBytecode", "evm.assembly", "storageLayout")))
    assert result.returncode == 0
    assert len(result.stdout.encode()) > 1_000_000
    output = json.loads(result.stdout)
    assert not [e for e in output.get("errors", []) if e["severity"] == "error"]
    assert sorted(output["contracts"]["Big.sol"]) == sorted(f"C{i}" for i in range(40))
    assert all(c["evm"]["deployedBytecode"]["object"] for c in output["contracts"]["Big.sol"].values())


def test_syntax_error_comes_back_as_error_json(solc_binary):
    # Like native solc in --standard-json mode: exit 0, the error inside the JSON.
    result = run_solc(solc_binary, "--standard-json", stdin=standard_json({"Bad.sol": "contract Bad { function f( }"}))
    assert result.returncode == 0
    errors = json.loads(result.stdout)["errors"]
    assert errors[0]["type"] == "ParserError" and errors[0]["severity"] == "error"
    assert errors[0]["sourceLocation"]["file"] == "Bad.sol"


def test_syntax_error_raises_in_py_solc_x(solc_binary):
    solcx.set_solc_version(VERSION, silent=True)
    with pytest.raises(SolcError, match="ParserError"):
        solcx.compile_standard(json.loads(standard_json({"Bad.sol": "contract Bad { function f( }"})))


def test_invalid_input_json_is_reported_like_solc(solc_binary):
    result = run_solc(solc_binary, "--standard-json", stdin="{not json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["errors"][0]["type"] == "JSONError"


def test_unknown_option_is_refused_like_solc(solc_binary):
    result = run_solc(solc_binary, "--frobnicate")
    assert result.returncode != 0
    assert result.stderr.strip() == "unrecognised option '--frobnicate'"
    with pytest.raises(UnknownOption):
        solcx.wrapper.solc_wrapper(solc_binary=solc_binary, frobnicate=True)


def test_file_mode_is_refused_with_one_line(solc_binary, tmp_path):
    source = tmp_path / "A.sol"
    source.write_text("contract A {}")
    result = run_solc(solc_binary, str(source))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "--standard-json" in result.stderr


def test_imports_resolve_through_remappings_and_allowed_paths(solc_binary):
    source = 'pragma solidity ^0.8.20; import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol"; contract T is ERC20 { constructor() ERC20("T", "T") {} }'
    request = json.loads(standard_json({"T.sol": source}))
    request["settings"]["remappings"] = ["@openzeppelin=node_modules/@openzeppelin"]
    result = run_solc(solc_binary, "--standard-json", "--allow-paths", str(ROOT), stdin=json.dumps(request), cwd=ROOT)
    output = json.loads(result.stdout)
    assert not [e for e in output.get("errors", []) if e["severity"] == "error"], output.get("errors")
    assert output["contracts"]["T.sol"]["T"]["evm"]["bytecode"]["object"]


def test_import_outside_allowed_paths_is_an_error(solc_binary, tmp_path):
    secret = tmp_path / "outside" / "X.sol"
    secret.parent.mkdir()
    secret.write_text("contract X {}")
    work = tmp_path / "work"
    work.mkdir()
    request = standard_json({"A.sol": f'import "{secret}"; contract A {{}}'})
    result = run_solc(solc_binary, "--standard-json", "--base-path", str(work), stdin=request, cwd=work)
    messages = " ".join(e["message"] for e in json.loads(result.stdout)["errors"])
    assert "outside of allowed directories" in messages


def test_launcher_without_node_fails_with_one_line(solc_binary, tmp_path):
    launcher = tmp_path / "solc"
    launcher.write_text(solc_binary.read_text().replace('NODE="', 'NODE="/nonexistent'))
    launcher.chmod(0o755)
    result = run_solc(launcher, "--version", env={"PATH": "/nonexistent-bin"})
    assert result.returncode == 127
    assert result.stderr.strip() == "solc adapter: node not found on PATH; install Node.js >= 18"


def test_install_without_node_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(tmp_path))
    monkeypatch.setenv("PATH", "/nonexistent-bin")
    with pytest.raises(install_solc.SetupError, match="node is not on PATH"):
        install_solc.install()
    assert not (tmp_path / f"solc-v{VERSION}").exists()


def test_install_into_a_fresh_folder_works(tmp_path, monkeypatch):
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(tmp_path))
    path, kind = install_solc.install()
    assert path == tmp_path / f"solc-v{VERSION}"
    if kind == "solc-js":
        assert (tmp_path / f"solcjs-v{VERSION}" / "node_modules" / "solc" / "soljson.js").is_file()
    assert solcx.wrapper.get_solc_version(path) == Version(VERSION)
