"""What the Bicep must keep: pinned API versions, local auth off, TLS, the containers, the bot."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.broadcast.fanout import FANOUT_QUEUE_SUFFIX
from bot.settings import Settings
from bot.storage.containers import ALL_CONTAINERS
from tests.infra.bicep_tree import (
    INFRA_DIR,
    BicepFile,
    Declaration,
    Expression,
    bicep_files,
    find_key,
    read,
)

ALLOWED_RESOURCE_TYPES = frozenset(
    {
        "Microsoft.Resources/resourceGroups@2021-04-01",
        "Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31",
        "Microsoft.Storage/storageAccounts@2023-05-01",
        "Microsoft.Storage/storageAccounts/blobServices@2023-05-01",
        "Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01",
        "Microsoft.Storage/storageAccounts/queueServices@2023-05-01",
        "Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01",
        "Microsoft.Web/serverfarms@2024-04-01",
        "Microsoft.Web/sites@2024-04-01",
        "Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01",
        "Microsoft.OperationalInsights/workspaces@2023-09-01",
        "Microsoft.Insights/components@2020-02-02",
        "Microsoft.DocumentDB/databaseAccounts@2024-11-15",
        "Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15",
        "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15",
        "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15",
        "Microsoft.KeyVault/vaults@2023-07-01",
        "Microsoft.KeyVault/vaults/secrets@2023-07-01",
        "Microsoft.Authorization/roleAssignments@2022-04-01",
        "Microsoft.BotService/botServices@2022-09-15",
        "Microsoft.BotService/botServices/channels@2021-03-01",
    }
)
"""Every resource type the templates may use, each at one pinned GA API version."""

_PINNED = re.compile(r"[A-Za-z]+\.[A-Za-z.]+(?:/[A-Za-z]+)+@\d{4}-\d{2}-\d{2}")


def _files() -> list[BicepFile]:
    return [read(path) for path in bicep_files()]


def _resources(resource_type: str) -> list[Declaration]:
    """Declarations (not ``existing``) of one resource type, whatever its API version."""
    return [
        declaration
        for file in _files()
        for declaration in file.of_kind("resource")
        if str(declaration.target).split("@")[0] == resource_type and not declaration.existing
    ]


def _one(resource_type: str) -> dict[str, Any]:
    found = _resources(resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    value = found[0].value
    assert isinstance(value, dict)
    return value


def _main() -> BicepFile:
    return read(INFRA_DIR / "main.bicep")


def _param_default(name: str) -> Any:
    return _main().get("param", name).value


# ---------------------------------------------------------------------------------------------
# API versions, modules, shared files
# ---------------------------------------------------------------------------------------------


class TestApiVersions:
    def test_every_resource_type_is_pinned_and_allowed(self) -> None:
        used = {
            f"{file.path.relative_to(INFRA_DIR)}:{d.line}": str(d.target)
            for file in _files()
            for d in file.of_kind("resource")
        }
        assert used
        unpinned = {where: t for where, t in used.items() if not _PINNED.fullmatch(t)}
        assert unpinned == {}, "resource types must be Type@yyyy-mm-dd (GA, no -preview)"
        unknown = {where: t for where, t in used.items() if t not in ALLOWED_RESOURCE_TYPES}
        assert unknown == {}, "add the type@version to ALLOWED_RESOURCE_TYPES after review"

    def test_the_allow_list_has_no_stale_entries(self) -> None:
        used = {str(d.target) for file in _files() for d in file.of_kind("resource")}
        assert sorted(ALLOWED_RESOURCE_TYPES - used) == []

    def test_each_type_uses_one_version_everywhere(self) -> None:
        versions: dict[str, set[str]] = {}
        for file in _files():
            for declaration in file.of_kind("resource"):
                resource_type, _, version = str(declaration.target).partition("@")
                versions.setdefault(resource_type, set()).add(version)
        assert {t: v for t, v in versions.items() if len(v) > 1} == {}


class TestModules:
    def test_every_module_is_a_local_file_that_exists(self) -> None:
        modules = [(file, d) for file in _files() for d in file.of_kind("module")]
        assert modules
        for file, module in modules:
            target = str(module.target)
            # Registry modules (br:, br/, ts:) cannot be checked offline: keep them out.
            assert not re.match(r"^(br|ts)[:/]", target), f"{module.name}: {target}"
            assert (file.path.parent / target).is_file(), f"{module.name}: {target} not found"

    def test_every_module_file_is_used(self) -> None:
        used = {
            (file.path.parent / str(d.target)).resolve()
            for file in _files()
            for d in file.of_kind("module")
        }
        unused = [p.name for p in bicep_files() if p.name != "main.bicep" and p not in used]
        assert unused == []

    def test_main_targets_the_subscription_and_creates_the_resource_group(self) -> None:
        source = _main().source.decode()
        assert re.search(r"^targetScope = 'subscription'$", source, re.MULTILINE)
        assert _resources("Microsoft.Resources/resourceGroups")

    def test_loaded_json_files_exist_and_abbreviations_are_defined(self) -> None:
        abbreviations = json.loads((INFRA_DIR / "abbreviations.json").read_text())
        assert abbreviations["botServicesBots"]
        for file in _files():
            text = file.source.decode()
            for loaded in re.findall(r"loadJsonContent\('([^']+)'\)", text):
                assert (file.path.parent / loaded).is_file(), loaded
            for key in re.findall(r"\babbrs\.(\w+)", text):
                assert key in abbreviations, f"{file.path.name}: abbrs.{key} is not defined"


# ---------------------------------------------------------------------------------------------
# Security settings
# ---------------------------------------------------------------------------------------------


class TestLocalAuthIsOff:
    def test_cosmos_db(self) -> None:
        properties = _one("Microsoft.DocumentDB/databaseAccounts")["properties"]
        assert properties["disableLocalAuth"] is True
        assert properties["disableKeyBasedMetadataWriteAccess"] is True

    def test_application_insights(self) -> None:
        properties = _one("Microsoft.Insights/components")["properties"]
        # The ARM property is `DisableLocalAuth` in API 2020-02-02; ARM names are
        # case-insensitive, so compare without case.
        flags = {k.lower(): v for k, v in properties.items()}
        assert flags["disablelocalauth"] is True
        assert isinstance(properties["WorkspaceResourceId"], Expression)

    def test_storage_shared_keys(self) -> None:
        properties = _one("Microsoft.Storage/storageAccounts")["properties"]
        assert properties["allowSharedKeyAccess"] is False
        assert properties["allowBlobPublicAccess"] is False
        assert properties["minimumTlsVersion"] == "TLS1_2"
        assert properties["supportsHttpsTrafficOnly"] is True


NETWORK_RESOURCES = {
    "Microsoft.Storage/storageAccounts": "storage",
    "Microsoft.DocumentDB/databaseAccounts": "cosmos",
    "Microsoft.KeyVault/vaults": "keyVault",
}
"""The resources behind the publicNetworkAccess parameter, by the main.bicep module of each."""


class TestPublicNetworkAccess:
    """One parameter turns the public endpoints of Storage, Cosmos DB and Key Vault off."""

    def test_the_parameter_defaults_to_enabled(self) -> None:
        parameter = _main().get("param", "publicNetworkAccess")
        assert parameter.value == "Enabled"
        assert set(parameter.decorators["allowed"][0].split()) >= {"'Enabled'", "'Disabled'"}

    @pytest.mark.parametrize("resource_type", sorted(NETWORK_RESOURCES))
    def test_each_resource_takes_it_from_main(self, resource_type: str) -> None:
        properties = _one(resource_type)["properties"]
        assert properties["publicNetworkAccess"] == Expression("publicNetworkAccess")
        if "networkAcls" in properties:
            # The firewall denies too, so nothing but a private endpoint gets through.
            default_action = properties["networkAcls"]["defaultAction"]
            assert default_action == Expression(
                "publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'"
            )
        module = _main().get("module", NETWORK_RESOURCES[resource_type]).value
        assert module["params"]["publicNetworkAccess"] == Expression("publicNetworkAccess")


class TestKeyVault:
    def test_the_vault_uses_rbac_and_soft_delete(self) -> None:
        properties = _one("Microsoft.KeyVault/vaults")["properties"]
        assert properties["enableRbacAuthorization"] is True
        assert properties["enableSoftDelete"] is True

    def test_the_key_hash_secret_is_written_only_while_it_does_not_exist(self) -> None:
        keyvault = read(INFRA_DIR / "app" / "keyvault.bicep")
        secret = keyvault.get("resource", "keyHash")
        assert secret.condition == "(writeKeyHashSecret)"
        main = _main()
        assert main.get("param", "keyHashSecretExists").value is False
        assert "writeKeyHashSecret: !keyHashSecretExists" in main.source.decode()
        assert main.get("output", "KEY_HASH_SECRET_EXISTS").value is True

    def test_the_key_hash_secret_defaults_to_a_new_random_value(self) -> None:
        parameter = _main().get("param", "keyHashSecret")
        assert "secure" in parameter.decorators
        assert parameter.value == Expression("newGuid()")


class TestFunctionApp:
    def test_flex_consumption_plan(self) -> None:
        plan = _one("Microsoft.Web/serverfarms")
        assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
        assert plan["properties"]["reserved"] is True

    def test_linux_python_311_with_a_user_assigned_identity(self) -> None:
        site = _one("Microsoft.Web/sites")
        assert site["kind"] == "functionapp,linux"
        assert site["identity"]["type"] == "UserAssigned"
        properties = site["properties"]
        assert properties["httpsOnly"] is True
        assert properties["functionAppConfig"]["runtime"] == {"name": "python", "version": "3.11"}
        assert properties["siteConfig"]["minTlsVersion"] == "1.2"
        # Key Vault references are resolved with the user-assigned identity.
        assert properties["keyVaultReferenceIdentity"] == Expression("identityId")
        deployment = properties["functionAppConfig"]["deployment"]["storage"]
        assert deployment["authentication"]["type"] == "UserAssignedIdentity"

    def test_http_requests_share_an_instance(self) -> None:
        # Flex's default for Python is one request per instance; the handlers are async.
        scale = _one("Microsoft.Web/sites")["properties"]["functionAppConfig"][
            "scaleAndConcurrency"
        ]
        assert scale["triggers"] == {
            "http": {"perInstanceConcurrency": Expression("httpPerInstanceConcurrency")}
        }
        parameter = read(INFRA_DIR / "app" / "api.bicep").get("param", "httpPerInstanceConcurrency")
        assert parameter.value == 16
        assert parameter.decorators["minValue"] == ("1",)

    def test_ftp_and_scm_publishing_credentials_are_off(self) -> None:
        policies = _resources("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
        by_name = {}
        for declaration in policies:
            assert isinstance(declaration.value, dict)
            assert declaration.value["parent"] == Expression("functionApp")
            by_name[declaration.value["name"]] = declaration.value["properties"]
        assert by_name == {"ftp": {"allow": False}, "scm": {"allow": False}}

    def test_azd_finds_it_as_service_api(self) -> None:
        tags = _one("Microsoft.Web/sites")["tags"]
        assert isinstance(tags, Expression)
        assert "'azd-service-name': 'api'" in tags.text


class TestStorage:
    def test_the_proactive_and_fanout_queues_and_their_poison_queues_are_created(self) -> None:
        assert _resources("Microsoft.Storage/storageAccounts/queueServices/queues")[0].loop
        storage_module = _main().get("module", "storage").value
        fanout = "${proactiveQueueName}" + FANOUT_QUEUE_SUFFIX
        assert storage_module["params"]["queueNames"] == [
            Expression("proactiveQueueName"),
            Expression("'${proactiveQueueName}-poison'"),
            Expression(f"'{fanout}'"),
            Expression(f"'{fanout}-poison'"),
        ]
        default_queue = Settings.model_fields["proactive_queue_name"].default
        assert _param_default("proactiveQueueName") == default_queue

    def test_every_derived_queue_name_fits_the_63_character_limit(self) -> None:
        longest_suffix = FANOUT_QUEUE_SUFFIX + "-poison"
        max_length = _main().get("param", "proactiveQueueName").decorators["maxLength"]
        assert int(max_length[0]) + len(longest_suffix) <= 63

    def test_the_deployment_container_exists(self) -> None:
        container = _one("Microsoft.Storage/storageAccounts/blobServices/containers")
        assert container["properties"]["publicAccess"] == "None"


# ---------------------------------------------------------------------------------------------
# Cosmos DB
# ---------------------------------------------------------------------------------------------


def _containers_as_bicep() -> str:
    """``var containers`` as it should read, to paste into db.bicep when the code changes."""
    lines = ["var containers = ["]
    for spec in ALL_CONTAINERS:
        lines += ["  {", f"    name: '{spec.name}'", f"    partitionKey: '{spec.partition_key}'"]
        if spec.indexed_paths:
            lines.append("    includedPaths: [")
            for path in spec.indexed_paths:
                lines += ["      {", f"        path: '{path}'", "      }"]
            lines.append("    ]")
        else:
            lines.append("    includedPaths: []")
        lines.append("  }")
    lines.append("]")
    return "\n".join(lines)


class TestCosmos:
    def test_serverless_account(self) -> None:
        properties = _one("Microsoft.DocumentDB/databaseAccounts")["properties"]
        assert properties["capabilities"] == [{"name": "EnableServerless"}]

    def test_every_container_of_the_code_is_declared_with_its_partition_key(self) -> None:
        declared = read(INFRA_DIR / "app" / "db.bicep").get("var", "containers").value
        found = [
            (entry["name"], entry["partitionKey"], [p["path"] for p in entry["includedPaths"]])
            for entry in declared
        ]
        expected = [
            (spec.name, spec.partition_key, list(spec.indexed_paths)) for spec in ALL_CONTAINERS
        ]
        assert found == expected, "make `var containers` in infra/app/db.bicep:\n" + (
            _containers_as_bicep()
        )

    def test_containers_index_only_the_listed_paths_and_keep_ttl_on(self) -> None:
        (container,) = _resources("Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers")
        assert container.loop
        resource = container.value["properties"]["resource"]
        assert resource["defaultTtl"] == -1
        assert resource["partitionKey"]["paths"] == [Expression("spec.partitionKey")]
        policy = resource["indexingPolicy"]
        assert policy["indexingMode"] == "consistent"
        assert policy["includedPaths"] == Expression("spec.includedPaths")
        assert policy["excludedPaths"] == [{"path": "/*"}]
        # Serverless accounts take no throughput.
        assert "options" not in container.value["properties"]


# ---------------------------------------------------------------------------------------------
# Bot
# ---------------------------------------------------------------------------------------------


class TestBot:
    def test_the_endpoint_is_api_messages_on_the_function_app(self) -> None:
        bot = _one("Microsoft.BotService/botServices")
        assert bot["location"] == "global"
        assert bot["kind"] == "azurebot"
        endpoint = bot["properties"]["endpoint"]
        assert endpoint == Expression("'https://${functionAppHostName}/api/messages'")
        bot_module = _main().get("module", "bot").value
        host = bot_module["params"]["functionAppHostName"]
        assert host == Expression("api.outputs.defaultHostName")

    def test_user_assigned_msi_by_default_single_tenant_as_an_option(self) -> None:
        parameter = _main().get("param", "botAppType")
        assert parameter.value == "UserAssignedMSI"
        assert set(parameter.decorators["allowed"][0].split()) >= {
            "'UserAssignedMSI'",
            "'SingleTenant'",
        }
        properties = _one("Microsoft.BotService/botServices")["properties"]
        assert properties["msaAppType"] == Expression("appType")
        assert "identityId" in properties["msaAppMSIResourceId"].text

    def test_channels_authenticate_with_entra_id_only(self) -> None:
        properties = _one("Microsoft.BotService/botServices")["properties"]
        assert properties["disableLocalAuth"] is True

    def test_the_teams_channel(self) -> None:
        channel = _one("Microsoft.BotService/botServices/channels")
        assert channel["name"] == "MsTeamsChannel"
        assert channel["properties"]["channelName"] == "MsTeamsChannel"
        assert channel["properties"]["properties"]["isEnabled"] is True


# ---------------------------------------------------------------------------------------------
# Role assignments
# ---------------------------------------------------------------------------------------------

_ROLE_ASSIGNMENT_TYPES = (
    "Microsoft.Authorization/roleAssignments",
    "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments",
)


class TestRoleAssignments:
    def test_all_of_them_are_in_rbac_bicep(self) -> None:
        places = {
            d.name: file.path.name
            for file in _files()
            for d in file.of_kind("resource")
            if str(d.target).split("@")[0] in _ROLE_ASSIGNMENT_TYPES
        }
        assert places
        assert {name: place for name, place in places.items() if place != "rbac.bicep"} == {}

    @pytest.mark.parametrize(
        ("role", "guid"),
        [
            ("Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"),
            ("Storage Queue Data Contributor", "974c5e8b-45b9-4653-ba55-5f855dd0fb88"),
            ("Monitoring Metrics Publisher", "3913510d-42f4-4e42-8a64-420c390055eb"),
            ("Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6"),
            ("Cosmos DB Built-in Data Contributor", "00000000-0000-0000-0000-000000000002"),
        ],
    )
    def test_the_identity_gets_the_role(self, role: str, guid: str) -> None:
        rbac = read(INFRA_DIR / "app" / "rbac.bicep")
        variables = {d.name: d.value for d in rbac.of_kind("var")}
        names = [name for name, value in variables.items() if value == guid]
        assert names, f"no variable holds the {role} role id"
        granted = [
            d
            for d in rbac.of_kind("resource")
            if d.condition is None
            and find_key(d.value, "principalId") == [Expression("identityPrincipalId")]
            and any(names[0] in str(v) for v in find_key(d.value, "roleDefinitionId"))
        ]
        assert len(granted) == 1, role


class TestQueueSenders:
    """External services enqueue with their identity: Message Sender on the proactive queue."""

    def test_each_listed_principal_gets_message_sender_on_the_proactive_queue_only(self) -> None:
        rbac = read(INFRA_DIR / "app" / "rbac.bicep")
        variables = {d.name: d.value for d in rbac.of_kind("var")}
        assert variables["storageQueueDataMessageSender"] == "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"
        [sender] = [
            d
            for d in rbac.of_kind("resource")
            if any(
                "storageQueueDataMessageSender" in str(v)
                for v in find_key(d.value, "roleDefinitionId")
            )
        ]
        assert sender.loop
        assert sender.condition == "(!empty(trim(senderId)))"
        assert "[for senderId in queueSenderPrincipalIds: if" in rbac.path.read_text()
        assert sender.value["scope"] == Expression("proactiveQueue")
        assert sender.value["properties"]["principalId"] == Expression("trim(senderId)")
        assert sender.value["properties"]["principalType"] == "ServicePrincipal"
        queue = rbac.get("resource", "proactiveQueue")
        assert queue.existing
        assert queue.value["name"] == Expression("proactiveQueueName")
        assert rbac.get("param", "queueSenderPrincipalIds").value == []

    def test_main_passes_the_comma_list_without_blanks(self) -> None:
        parameter = _main().get("param", "queueSenderPrincipalIds")
        assert (parameter.target, parameter.value) == ("string", "")
        params = _main().get("module", "rbac").value["params"]
        assert params["proactiveQueueName"] == Expression("proactiveQueueName")
        passed = params["queueSenderPrincipalIds"]
        assert isinstance(passed, Expression)
        assert "split(queueSenderPrincipalIds, ',')" in passed.text
        assert passed.text.startswith("empty(queueSenderPrincipalIds) ? [] :")

    def test_both_parameter_files_read_the_environment_variable(self) -> None:
        bicepparam = (INFRA_DIR / "main.bicepparam").read_text()
        parameters = json.loads((INFRA_DIR / "main.parameters.json").read_text())
        assert (
            "param queueSenderPrincipalIds = "
            "readEnvironmentVariable('PROACTIVE_QUEUE_SENDER_PRINCIPAL_IDS', '')" in bicepparam
        )
        assert parameters["parameters"]["queueSenderPrincipalIds"] == {
            "value": "${PROACTIVE_QUEUE_SENDER_PRINCIPAL_IDS=}"
        }


# ---------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------


def test_main_outputs_what_azd_and_the_app_package_read() -> None:
    outputs = {d.name for d in _main().of_kind("output")}
    assert outputs >= {
        "AZURE_LOCATION",
        "AZURE_TENANT_ID",
        "AZURE_RESOURCE_GROUP",
        "AZURE_FUNCTION_NAME",
        "SERVICE_API_NAME",
        "COSMOS_ENDPOINT",
        "BOT_ENDPOINT",
        "BOT_ID",
        "KEY_HASH_SECRET_EXISTS",
    }
    assert all(name == name.upper() for name in outputs)
