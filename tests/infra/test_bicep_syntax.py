"""Every Bicep file parses: no ERROR or MISSING node in the tree-sitter-bicep tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.bicep_tree import (
    INFRA_DIR,
    bicep_files,
    bicepparam_as_bicep,
    syntax_errors,
)


def test_infra_has_the_entry_point_and_its_modules() -> None:
    names = {path.relative_to(INFRA_DIR).as_posix() for path in bicep_files()}
    assert "main.bicep" in names
    assert "app/rbac.bicep" in names
    assert len(names) >= 5


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(INFRA_DIR).as_posix())
def test_bicep_file_has_no_syntax_error(path: Path) -> None:
    assert syntax_errors(path.read_bytes()) == []


def test_bicepparam_file_has_no_syntax_error() -> None:
    source = (INFRA_DIR / "main.bicepparam").read_bytes()
    assert source.lstrip().startswith(b"//") or source.lstrip().startswith(b"using")
    assert syntax_errors(bicepparam_as_bicep(source)) == []


class TestTheCheckCatchesBrokenFiles:
    """The syntax check is only worth something if it fails on a broken file."""

    @pytest.fixture
    def main_source(self) -> bytes:
        return (INFRA_DIR / "main.bicep").read_bytes()

    def test_a_missing_closing_brace(self, main_source: bytes, tmp_path: Path) -> None:
        broken = tmp_path / "main.bicep"
        index = main_source.rindex(b"}")
        broken.write_bytes(main_source[:index] + main_source[index + 1 :])
        assert syntax_errors(broken.read_bytes()) != []

    def test_an_unterminated_string(self, main_source: bytes, tmp_path: Path) -> None:
        broken = tmp_path / "main.bicep"
        broken.write_bytes(main_source.replace(b"name: 'identity'", b"name: 'identity", 1))
        assert b"name: 'identity\n" in broken.read_bytes()
        assert syntax_errors(broken.read_bytes()) != []

    def test_a_stray_token(self, main_source: bytes, tmp_path: Path) -> None:
        broken = tmp_path / "main.bicep"
        broken.write_bytes(main_source.replace(b"targetScope = ", b"targetScope = = ", 1))
        assert syntax_errors(broken.read_bytes()) != []

    def test_a_broken_parameter_file(self) -> None:
        source = (INFRA_DIR / "main.bicepparam").read_bytes()
        broken = source.replace(b"readEnvironmentVariable('AZURE_ENV_NAME'", b"(", 1)
        assert syntax_errors(bicepparam_as_bicep(broken)) != []
