"""Configuration: one file configures everything, and every mistake is named."""

from pathlib import Path

import pytest

from kiosk.backend.errors import ConfigError
from kiosk.config.loading import load_settings, settings_from

EXAMPLE = Path(__file__).parents[2] / "deploy" / "kiosk.toml.example"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """
[directory]
urls = ["ldaps://dc1.example.com"]
[[directory.domains]]
netbios = "example"
dns = "Example.COM"
base_dn = "DC=example,DC=com"
"""


def test_the_shipped_example_config_is_valid():
    settings = load_settings(EXAMPLE, environ={})
    assert settings.directory.urls[0].startswith("ldaps://")
    assert settings.questions.questionnaire[1].pick == 2


def test_a_minimal_config_gets_safe_defaults(tmp_path):
    settings = load_settings(write(tmp_path, MINIMAL), environ={})
    assert settings.directory.domains[0].netbios == "EXAMPLE"
    assert settings.directory.domains[0].dns == "example.com"
    assert settings.directory.effective_default_domain == "EXAMPLE"
    assert settings.eligibility.allow_privileged is False
    assert "Domain Admins" in settings.eligibility.privileged_groups
    assert settings.kiosk.lockdown is True


def test_environment_overrides_the_file(tmp_path):
    settings = load_settings(
        write(tmp_path, MINIMAL),
        environ={"KIOSK_KIOSK__IDLE_TIMEOUT_SECONDS": "45", "KIOSK_FEATURES__ACTIVATE": "true"},
    )
    assert settings.kiosk.idle_timeout_seconds == 45
    assert settings.features.activate is True


def test_the_config_file_is_found_through_kiosk_config(tmp_path):
    path = write(tmp_path, MINIMAL)
    assert load_settings(None, environ={"KIOSK_CONFIG": str(path)}).directory.urls


def test_a_misspelt_key_is_named(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, MINIMAL + "conect_timeout_seconds = 3\n"), environ={})
    assert "directory.domains.0.conect_timeout_seconds: unknown key" in str(error.value)


def test_a_bad_value_names_the_key_the_value_and_the_expectation(tmp_path):
    text = MINIMAL + "[kiosk]\nidle_timeout_seconds = 2\n"
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text), environ={})
    message = str(error.value)
    assert "kiosk.idle_timeout_seconds = 2" in message
    assert "greater than or equal to 5" in message


def test_a_non_ldap_url_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="'http://dc1' is not an ldaps:// or ldap:// URL"):
        load_settings(write(tmp_path, MINIMAL.replace("ldaps://dc1.example.com", "http://dc1")), environ={})


def test_broken_toml_says_where(tmp_path):
    with pytest.raises(ConfigError, match=r"not valid TOML.*line 2"):
        load_settings(write(tmp_path, "[kiosk]\ntitle = = 2\n"), environ={})


def test_a_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="kiosk demo"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_the_service_password_is_refused_in_the_file(tmp_path):
    text = MINIMAL.replace("[directory]\n", '[directory]\nservice_password = "hunter2"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text), environ={})
    assert "secrets" in str(error.value)
    assert "hunter2" not in str(error.value)


def test_the_service_password_comes_from_the_secrets_directory(tmp_path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "kiosk_directory__service_password").write_text("s3cret!\n")
    settings = load_settings(write(tmp_path, MINIMAL), environ={"KIOSK_SECRETS_DIR": str(secrets)})
    assert settings.directory.service_password.get_secret_value() == "s3cret!"
    assert "s3cret" not in repr(settings)


def test_the_service_password_comes_from_the_environment(tmp_path):
    settings = load_settings(write(tmp_path, MINIMAL), environ={"KIOSK_DIRECTORY__SERVICE_PASSWORD": "pw"})
    assert settings.directory.service_password.get_secret_value() == "pw"


def test_questionnaire_must_name_configured_questions():
    with pytest.raises(ConfigError, match="unknown question id"):
        settings_from({"directory": {"kind": "demo"}, "questions": {"questionnaire": [{"question": "nope"}]}})


def test_a_group_cannot_pick_more_than_it_offers():
    steps = [{"group": "G", "pick": 3, "choose_from": ["first-pet", "first-school"]}]
    with pytest.raises(ConfigError, match="picks 3 but choose_from lists 2"):
        settings_from({"directory": {"kind": "demo"}, "questions": {"questionnaire": steps}})


def test_an_ad_directory_needs_urls_and_domains():
    with pytest.raises(ConfigError, match="directory.urls is empty"):
        settings_from({"directory": {"kind": "ad"}})


def test_the_default_domain_must_be_described():
    with pytest.raises(ConfigError, match="default_domain 'OTHER' is not one of"):
        settings_from(
            {
                "directory": {
                    "urls": ["ldaps://dc"],
                    "default_domain": "other",
                    "domains": [{"netbios": "EX", "dns": "ex.com", "base_dn": "DC=ex,DC=com"}],
                }
            }
        )


def test_activation_defaults_and_the_filter_follows_the_marker():
    from kiosk.config import default_activation_filter
    from kiosk.config.loading import settings_from

    settings = settings_from({"directory": {"kind": "demo"}})
    activation = settings.activation
    assert activation.filter == default_activation_filter("comment")
    assert "(!(comment=*))" in activation.filter and "(!(lastLogonTimestamp=*))" in activation.filter
    # The proof is an issued activation code; directory attributes are an optional addition.
    assert activation.proof == [] and activation.code_valid_hours == 72
    assert activation.updates == {"comment": "kiosk-activated"}
    moved = settings_from({"directory": {"kind": "demo"}, "activation": {"marker": {"attribute": "info"}}})
    assert moved.activation.filter.endswith("(!(info=*)))")


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"code_valid_hours": 0}, "activation.code_valid_hours"),
        ({"filter": "(sAMAccountName=a"}, "activation.filter"),
        ({"extra_updates": {"unicodePwd": "x"}}, "activation.extra_updates"),
        ({"extra_updates": {"comment": "x"}}, "marker"),
        ({"proof": [{"attribute": "employeeID", "label": "ID", "match": "fuzzy"}]}, "activation.proof.0.match"),
        ({"marker": {"attribute": "comment", "colour": "red"}}, "activation.marker.colour"),
        ({"unknown": 1}, "activation.unknown"),
    ],
)
def test_bad_activation_settings_are_named(section, named):
    from kiosk.config.loading import settings_from

    with pytest.raises(ConfigError) as error:
        settings_from({"directory": {"kind": "demo"}, "activation": section})
    assert named in str(error.value)


@pytest.mark.parametrize(
    ("time_cost", "memory_cost_kib", "floor"),
    [(1, 8, 47104), (1, 46000, 47104), (2, 19000, 19456), (3, 12000, 12288), (4, 9000, 9216), (9, 7000, 7168)],
)
def test_argon2_below_the_owasp_floor_is_refused_naming_key_and_floor(tmp_path, time_cost, memory_cost_kib, floor):
    text = MINIMAL + f"[answers]\ntime_cost = {time_cost}\nmemory_cost_kib = {memory_cost_kib}\nparallelism = 1\n"
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text), environ={})
    message = str(error.value)
    assert f"answers.memory_cost_kib: {memory_cost_kib} KiB is below the floor for time_cost = {time_cost}" in message
    assert f"at least {floor} KiB" in message


@pytest.mark.parametrize(("time_cost", "memory_cost_kib"), [(1, 47104), (2, 19456), (3, 12288), (4, 9216), (5, 7168), (3, 65536)])
def test_argon2_at_the_floor_or_above_is_accepted(tmp_path, time_cost, memory_cost_kib):
    text = MINIMAL + f"[answers]\ntime_cost = {time_cost}\nmemory_cost_kib = {memory_cost_kib}\n"
    answers = load_settings(write(tmp_path, text), environ={}).answers
    assert (answers.time_cost, answers.memory_cost_kib) == (time_cost, memory_cost_kib)


def test_the_argon2_floor_holds_for_the_environment_too(tmp_path):
    with pytest.raises(ConfigError, match="answers.memory_cost_kib: 8 KiB is below the floor"):
        load_settings(write(tmp_path, MINIMAL), environ={"KIOSK_ANSWERS__MEMORY_COST_KIB": "8"})


def test_python_code_may_build_cheap_hashing_for_tests():
    """The floor is the validator's, like every bound: a file or the environment
    cannot go below it; tests and bench that build settings in Python can."""
    from kiosk.config import AnswerHashSettings

    assert AnswerHashSettings(time_cost=1, memory_cost_kib=8, parallelism=1).memory_cost_kib == 8
    assert AnswerHashSettings() == load_settings(EXAMPLE, environ={}).answers


def test_a_bad_activation_filter_is_named_with_every_other_problem():
    with pytest.raises(ConfigError) as error:
        settings_from(
            {"directory": {"kind": "demo"}, "kiosk": {"idle_timeout_seconds": 1}, "activation": {"filter": "(a=b"}}
        )
    assert "kiosk.idle_timeout_seconds = 1" in str(error.value)
    assert "activation.filter: invalid LDAP filter '(a=b'" in str(error.value)


def test_the_schema_imports_neither_pydantic_nor_the_backend():
    import subprocess
    import sys

    probe = (
        "import sys, kiosk.config, kiosk.config.schema\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core', 'pydantic_settings')"
        " or m.startswith('kiosk.backend')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
