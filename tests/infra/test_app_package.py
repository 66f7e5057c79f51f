"""The Teams app package: manifest template, icons and the build command."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from appPackage import build, icons

BOT_ID = "6D1B6C0E-4BD4-4A8E-9A2F-3C1D2E4F5A6B"
OTHER_ID = "0f0e0d0c-0b0a-4908-8706-050403020100"


def _zip_contents(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# ---------------------------------------------------------------------------------------------
# Manifest template
# ---------------------------------------------------------------------------------------------


class TestManifestTemplate:
    @pytest.fixture
    def manifest(self) -> dict[str, Any]:
        template = build.TEMPLATE_PATH.read_text()
        return build.render_manifest(template, build.AppDetails(bot_id=BOT_ID).placeholders())

    def test_schema_and_manifest_version_agree(self, manifest: dict[str, Any]) -> None:
        version = str(manifest["manifestVersion"])
        assert str(manifest["$schema"]).endswith(f"/teams/v{version}/MicrosoftTeams.schema.json")
        assert tuple(int(part) for part in version.split(".")) >= (1, 30)

    def test_the_bot_is_installable_in_personal_team_and_group_chat(
        self, manifest: dict[str, Any]
    ) -> None:
        (bot,) = manifest["bots"]
        assert bot["botId"] == BOT_ID.lower()
        assert bot["scopes"] == ["personal", "team", "groupChat"]
        assert manifest["id"] == BOT_ID.lower()

    def test_icons_are_the_package_files(self, manifest: dict[str, Any]) -> None:
        assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
        assert manifest["accentColor"] == "#{:02X}{:02X}{:02X}".format(*icons.ACCENT)

    def test_every_placeholder_has_a_value(self) -> None:
        template = build.TEMPLATE_PATH.read_text()
        with pytest.raises(build.PackageError, match="BOT_ID"):
            build.render_manifest(template, {})

    def test_values_are_json_escaped(self) -> None:
        details = build.AppDetails(bot_id=BOT_ID, name='The "Bot" \\ Co')
        manifest = build.render_manifest(build.TEMPLATE_PATH.read_text(), details.placeholders())
        assert manifest["name"] == {"short": 'The "Bot" \\ Co', "full": 'The "Bot" \\ Co'}


# ---------------------------------------------------------------------------------------------
# Icons
# ---------------------------------------------------------------------------------------------


class TestIcons:
    def test_color_icon_is_192_square_and_opaque_in_the_middle(self) -> None:
        image = icons.decode_png((build.PACKAGE_DIR / "color.png").read_bytes())
        assert (image.width, image.height) == (192, 192)
        assert image.pixel(96, 96)[3] == 255

    def test_outline_icon_is_32_square_white_on_transparent(self) -> None:
        image = icons.decode_png((build.PACKAGE_DIR / "outline.png").read_bytes())
        assert (image.width, image.height) == (32, 32)
        pixels = [image.pixel(x, y) for y in range(32) for x in range(32)]
        assert {p[:3] for p in pixels if p[3]} == {(255, 255, 255)}
        alphas = {p[3] for p in pixels}
        assert 0 in alphas
        assert 255 in alphas

    def test_the_committed_outline_is_what_the_drawing_code_makes(self) -> None:
        # Pixels, not bytes: another zlib may compress the same pixels differently.
        committed = icons.decode_png((build.PACKAGE_DIR / "outline.png").read_bytes())
        assert committed == icons.draw_outline()

    @pytest.mark.parametrize("row_filter", [0, 1, 2, 3, 4])
    def test_decoding_undoes_every_png_row_filter(self, row_filter: int) -> None:
        image = icons.Image(3, 2, bytes(range(7, 7 + 3 * 2 * 4)))
        png = _encode_with_filter(image, row_filter)
        assert icons.decode_png(png) == image

    def test_decoding_rejects_what_is_not_a_png(self) -> None:
        with pytest.raises(ValueError, match="not a PNG"):
            icons.decode_png(b"GIF89a")


def _encode_with_filter(image: icons.Image, row_filter: int) -> bytes:
    """A PNG whose rows all use one filter type (the encoder itself only writes type 0)."""
    stride, bpp = image.width * 4, 4
    raw = bytearray()
    previous = bytes(stride)
    for row in range(image.height):
        line = image.pixels[row * stride : (row + 1) * stride]
        filtered = bytearray()
        for i, value in enumerate(line):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            up_left = previous[i - bpp] if i >= bpp else 0
            predictor = {
                0: 0,
                1: left,
                2: up,
                3: (left + up) // 2,
                4: icons._paeth(left, up, up_left),
            }[row_filter]
            filtered.append((value - predictor) & 0xFF)
        raw += bytes([row_filter]) + filtered
        previous = line

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", image.width, image.height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw)))
        + chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------------------------------------
# The build command
# ---------------------------------------------------------------------------------------------


class TestBuildPackage:
    def test_the_zip_holds_the_manifest_and_both_icons(self, tmp_path: Path) -> None:
        target = build.build_package(build.AppDetails(bot_id=BOT_ID), out_dir=tmp_path)
        assert target == tmp_path / "proactive-bot.zip"
        contents = _zip_contents(target)
        assert sorted(contents) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(contents["manifest.json"])
        assert manifest["bots"][0]["botId"] == BOT_ID.lower()
        assert contents["color.png"] == (build.PACKAGE_DIR / "color.png").read_bytes()

    def test_the_same_inputs_give_the_same_bytes(self, tmp_path: Path) -> None:
        first = build.build_package(build.AppDetails(bot_id=BOT_ID), out_dir=tmp_path / "a")
        second = build.build_package(build.AppDetails(bot_id=BOT_ID), out_dir=tmp_path / "b")
        assert first.read_bytes() == second.read_bytes()

    def test_a_separate_teams_app_id(self, tmp_path: Path) -> None:
        details = build.AppDetails(bot_id=BOT_ID, teams_app_id=OTHER_ID, name="Ops Bot")
        contents = _zip_contents(build.build_package(details, out_dir=tmp_path))
        manifest = json.loads(contents["manifest.json"])
        assert manifest["id"] == OTHER_ID
        assert manifest["bots"][0]["botId"] == BOT_ID.lower()
        assert (tmp_path / "ops-bot.zip").is_file()

    @pytest.mark.parametrize(
        ("details", "message"),
        [
            (build.AppDetails(bot_id="not-a-guid"), "not a GUID"),
            (build.AppDetails(bot_id=BOT_ID + "0"), "not a GUID"),
            (build.AppDetails(bot_id=BOT_ID, teams_app_id="x"), "Teams app id"),
            (build.AppDetails(bot_id=BOT_ID, name="x" * 31), "app name"),
            (build.AppDetails(bot_id=BOT_ID, version="1.0"), "major.minor.patch"),
            (build.AppDetails(bot_id=BOT_ID, privacy_url="http://x.test"), "https"),
        ],
    )
    def test_invalid_details_are_refused(
        self, details: build.AppDetails, message: str, tmp_path: Path
    ) -> None:
        with pytest.raises(build.PackageError, match=message):
            build.build_package(details, out_dir=tmp_path)
        assert list(tmp_path.iterdir()) == []

    def test_an_icon_of_the_wrong_size_is_refused(self, tmp_path: Path) -> None:
        icon_dir = tmp_path / "icons"
        icon_dir.mkdir()
        (icon_dir / "color.png").write_bytes(icons.encode_png(icons.draw_outline()))
        (icon_dir / "outline.png").write_bytes((build.PACKAGE_DIR / "outline.png").read_bytes())
        with pytest.raises(build.PackageError, match=r"color\.png is 32x32"):
            build.build_package(
                build.AppDetails(bot_id=BOT_ID), out_dir=tmp_path / "out", icon_dir=icon_dir
            )


class TestFindBotId:
    def _azd_project(self, tmp_path: Path, line: str) -> Path:
        (tmp_path / ".azure" / "dev").mkdir(parents=True)
        (tmp_path / ".azure" / "config.json").write_text('{"defaultEnvironment": "dev"}')
        (tmp_path / ".azure" / "dev" / ".env").write_text(f'AZURE_ENV_NAME="dev"\n{line}\n')
        return tmp_path

    def test_the_argument_wins(self, tmp_path: Path) -> None:
        project = self._azd_project(tmp_path, f'BOT_ID="{OTHER_ID}"')
        assert build.find_bot_id(BOT_ID, {"BOT_ID": OTHER_ID}, project) == BOT_ID

    def test_then_the_environment(self, tmp_path: Path) -> None:
        project = self._azd_project(tmp_path, 'BOT_ID="x"')
        assert build.find_bot_id(None, {"BOT_ID": OTHER_ID}, project) == OTHER_ID

    def test_then_the_azd_output(self, tmp_path: Path) -> None:
        project = self._azd_project(tmp_path, f'BOT_ID="{OTHER_ID}"')
        assert build.find_bot_id(None, {}, project) == OTHER_ID

    def test_a_named_azd_environment(self, tmp_path: Path) -> None:
        (tmp_path / ".azure" / "prod").mkdir(parents=True)
        (tmp_path / ".azure" / "prod" / ".env").write_text(f"BOT_ID={OTHER_ID}\n")
        assert build.find_bot_id(None, {}, tmp_path, "prod") == OTHER_ID

    def test_nothing_anywhere(self, tmp_path: Path) -> None:
        with pytest.raises(build.PackageError, match="no bot id"):
            build.find_bot_id(None, {}, tmp_path)


class TestMain:
    def test_builds_from_the_bot_id_in_the_environment(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code = build.main(["--out-dir", str(tmp_path)], environ={"BOT_ID": OTHER_ID})
        assert code == 0
        assert capsys.readouterr().out.strip() == str(tmp_path / "proactive-bot.zip")

    def test_an_invalid_id_exits_with_2_and_says_why(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code = build.main(["--bot-id", "nope", "--out-dir", str(tmp_path)], environ={})
        assert code == 2
        assert "not a GUID" in capsys.readouterr().err
        assert list(tmp_path.iterdir()) == []


def test_package_file_name() -> None:
    assert build.package_file_name("Proactive Bot") == "proactive-bot.zip"
    assert build.package_file_name("  Ops / Alerts!! ") == "ops-alerts.zip"
    assert build.package_file_name("***") == "teams-app.zip"
