"""Build the Teams app package: fill in the manifest template and zip it with the icons.

Usage::

    python -m appPackage.build [--bot-id GUID] [--name "Proactive Bot"] [--out-dir DIR]

The bot id is taken from ``--bot-id``, else from the ``BOT_ID`` environment variable (azd hands
its outputs to hooks that way), else from the ``BOT_ID`` output stored in the azd environment
(``.azure/<env>/.env``). The result is ``appPackage/build/<name>.zip``: upload it in Teams with
Apps > Manage your apps > Upload an app.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appPackage.icons import COLOR_SIZE, OUTLINE_SIZE, decode_png

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
TEMPLATE_PATH = PACKAGE_DIR / "manifest.json"
BUILD_DIR = PACKAGE_DIR / "build"
ICONS = {"color.png": COLOR_SIZE, "outline.png": OUTLINE_SIZE}
"""The icon files of the package and their side in pixels."""

DEFAULT_APP_NAME = "Proactive Bot"
BOT_ID_VARIABLE = "BOT_ID"

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_PLACEHOLDER = re.compile(r"\$\{\{([A-Z][A-Z0-9_]*)\}\}")
_VERSION = re.compile(r"\d{1,9}\.\d{1,9}\.\d{1,9}")
# Teams' manifest limits: name.short 30 characters, developer.name 32.
_MAX_SHORT_NAME = 30
_MAX_DEVELOPER_NAME = 32
# Zip entries carry a fixed time so the same inputs give the same archive.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class PackageError(Exception):
    """The package cannot be built; the message says which input to fix."""


@dataclass(frozen=True)
class AppDetails:
    """What the manifest template leaves open.

    Attributes:
        bot_id: The bot's app id: the managed identity's client id (UserAssignedMSI) or the
            Entra app id (SingleTenant); the ``BOT_ID`` output of the deployment.
        teams_app_id: The Teams app id; the bot id when not given.
        name: The app's short name, as users see it in Teams.
        version: The app version, ``major.minor.patch``; raise it to update an uploaded app.
        developer_name: The publisher shown in the app details.
        website_url: The publisher's website (https).
        privacy_url: The privacy statement (https).
        terms_url: The terms of use (https).
    """

    bot_id: str
    teams_app_id: str | None = None
    name: str = DEFAULT_APP_NAME
    version: str = "1.0.0"
    developer_name: str = "Proactive Bot"
    website_url: str = "https://example.com"
    privacy_url: str = "https://example.com/privacy"
    terms_url: str = "https://example.com/terms"

    def placeholders(self) -> dict[str, str]:
        """The values of the template's ``${{NAME}}`` placeholders."""
        return {
            "BOT_ID": self.bot_id.lower(),
            "TEAMS_APP_ID": (self.teams_app_id or self.bot_id).lower(),
            "APP_NAME": self.name,
            "APP_VERSION": self.version,
            "DEVELOPER_NAME": self.developer_name,
            "DEVELOPER_WEBSITE_URL": self.website_url,
            "DEVELOPER_PRIVACY_URL": self.privacy_url,
            "DEVELOPER_TERMS_URL": self.terms_url,
        }


def is_guid(value: str) -> bool:
    """Whether ``value`` is a GUID in its usual 8-4-4-4-12 hexadecimal form."""
    return _GUID.fullmatch(value) is not None


def validate(details: AppDetails) -> None:
    """Check the details against what Teams accepts.

    Raises:
        PackageError: A value is invalid; the message names it.
    """
    if not is_guid(details.bot_id):
        raise PackageError(f"bot id {details.bot_id!r} is not a GUID")
    if details.teams_app_id is not None and not is_guid(details.teams_app_id):
        raise PackageError(f"Teams app id {details.teams_app_id!r} is not a GUID")
    if not 1 <= len(details.name.strip()) <= _MAX_SHORT_NAME:
        raise PackageError(f"app name must have 1 to {_MAX_SHORT_NAME} characters")
    if not 1 <= len(details.developer_name.strip()) <= _MAX_DEVELOPER_NAME:
        raise PackageError(f"developer name must have 1 to {_MAX_DEVELOPER_NAME} characters")
    if _VERSION.fullmatch(details.version) is None:
        raise PackageError(f"version {details.version!r} is not major.minor.patch")
    for label, url in (
        ("website", details.website_url),
        ("privacy", details.privacy_url),
        ("terms of use", details.terms_url),
    ):
        if not url.startswith("https://") or len(url) <= len("https://"):
            raise PackageError(f"{label} URL {url!r} must be an https URL")


def render_manifest(template: str, values: Mapping[str, str]) -> dict[str, Any]:
    """Fill in every ``${{NAME}}`` placeholder of the manifest template.

    Values are inserted JSON-escaped, so any text keeps the manifest valid JSON.

    Raises:
        PackageError: A placeholder has no value, or the result is not a JSON object.
    """
    missing = sorted({name for name in _PLACEHOLDER.findall(template) if name not in values})
    if missing:
        raise PackageError(f"no value for the manifest placeholders {', '.join(missing)}")
    text = _PLACEHOLDER.sub(lambda match: json.dumps(values[match.group(1)])[1:-1], template)
    manifest = json.loads(text)
    if not isinstance(manifest, dict):
        raise PackageError("the manifest template is not a JSON object")
    return manifest


def read_azd_environment(project_dir: Path, name: str | None = None) -> dict[str, str]:
    """The values azd stored for an environment (the default one unless ``name`` is given).

    Returns an empty mapping when the project has no azd environment.
    """
    azure_dir = project_dir / ".azure"
    if name is None:
        try:
            config = json.loads((azure_dir / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        name = config.get("defaultEnvironment") if isinstance(config, dict) else None
        if not isinstance(name, str) or not name:
            return {}
    try:
        lines = (azure_dir / name / ".env").read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    values: dict[str, str] = {}
    for line in lines:
        key, separator, value = line.strip().partition("=")
        if separator and key and not key.startswith("#"):
            values[key.strip()] = _unquote(value.strip())
    return values


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1].replace('\\"', '"') if value[0] == '"' else value[1:-1]
    return value


def find_bot_id(
    explicit: str | None,
    environ: Mapping[str, str],
    project_dir: Path,
    azd_environment: str | None = None,
) -> str:
    """The bot id: the argument, else ``BOT_ID`` in the environment, else the azd output.

    Raises:
        PackageError: No source has a bot id.
    """
    for candidate in (
        explicit,
        environ.get(BOT_ID_VARIABLE),
        read_azd_environment(project_dir, azd_environment).get(BOT_ID_VARIABLE),
    ):
        if candidate and candidate.strip():
            return candidate.strip()
    raise PackageError(
        "no bot id: pass --bot-id, set BOT_ID, or run `azd provision` first "
        "(its BOT_ID output is read from .azure/<env>/.env)"
    )


def package_file_name(app_name: str) -> str:
    """``<name>.zip``, the app name lower-cased with every run of other characters as ``-``."""
    slug = re.sub(r"[^a-z0-9]+", "-", app_name.lower()).strip("-")
    return f"{slug or 'teams-app'}.zip"


def _check_icon(path: Path, side: int) -> bytes:
    try:
        data = path.read_bytes()
        image = decode_png(data)
    except (OSError, ValueError) as error:
        raise PackageError(f"icon {path.name}: {error}") from error
    if (image.width, image.height) != (side, side):
        raise PackageError(
            f"icon {path.name} is {image.width}x{image.height}, Teams wants {side}x{side}"
        )
    return data


def build_package(
    details: AppDetails,
    *,
    out_dir: Path = BUILD_DIR,
    template_path: Path = TEMPLATE_PATH,
    icon_dir: Path = PACKAGE_DIR,
) -> Path:
    """Validate the details, render the manifest and zip it with the icons.

    Returns:
        The path of the zip: ``out_dir / package_file_name(details.name)``.

    Raises:
        PackageError: An input is invalid; the message says which.
    """
    validate(details)
    manifest = render_manifest(template_path.read_text(encoding="utf-8"), details.placeholders())
    entries = {
        "manifest.json": (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    }
    for name, side in ICONS.items():
        entries[name] = _check_icon(icon_dir / name, side)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / package_file_name(details.name)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return target


def _parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m appPackage.build",
        description="Build the Teams app package (manifest and icons, zipped) for upload.",
    )
    parser.add_argument("--bot-id", help="the bot's app id (default: BOT_ID, then azd's output)")
    parser.add_argument("--teams-app-id", help="the Teams app id (default: the bot id)")
    parser.add_argument("--azd-env", help="azd environment to read BOT_ID from (default: azd's)")
    parser.add_argument("--name", default=DEFAULT_APP_NAME, help="app name shown in Teams")
    parser.add_argument("--version", default="1.0.0", help="app version, major.minor.patch")
    parser.add_argument("--developer-name", default=AppDetails.developer_name)
    parser.add_argument("--website-url", default=AppDetails.website_url)
    parser.add_argument("--privacy-url", default=AppDetails.privacy_url)
    parser.add_argument("--terms-url", default=AppDetails.terms_url)
    parser.add_argument("--out-dir", type=Path, default=BUILD_DIR, help="where to write the zip")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the command; returns the exit code (0, or 2 when an input is invalid)."""
    arguments = _parse_arguments(argv)
    try:
        bot_id = find_bot_id(
            arguments.bot_id,
            os.environ if environ is None else environ,
            PROJECT_DIR,
            arguments.azd_env,
        )
        target = build_package(
            AppDetails(
                bot_id=bot_id,
                teams_app_id=arguments.teams_app_id,
                name=arguments.name,
                version=arguments.version,
                developer_name=arguments.developer_name,
                website_url=arguments.website_url,
                privacy_url=arguments.privacy_url,
                terms_url=arguments.terms_url,
            ),
            out_dir=arguments.out_dir,
        )
    except PackageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
