"""LoggingConfig / GAMP5ComplianceConfig: the old design's names and defaults, from code, TOML and environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from gxp_otel.config import (
    ENV_VARS,
    ComplianceStandard,
    ConfigError,
    GAMP5ComplianceConfig,
    GxpOtelConfig,
    LoggingConfig,
    LogLevel,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_defaults_are_the_old_designs():
    logging_config, compliance = LoggingConfig(), GAMP5ComplianceConfig()
    assert (logging_config.log_level, logging_config.log_directory, logging_config.enable_console) == (
        LogLevel.INFO, "logs/events", True)
    assert (logging_config.enable_rotation, logging_config.max_file_size_mb, logging_config.max_files) == (True, 50, 30)
    assert (logging_config.buffer_size, logging_config.flush_interval_seconds) == (1000, 5)
    assert compliance.enable_compliance_logging and compliance.enable_tamper_evident
    assert compliance.audit_retention_days == 2555 and compliance.hash_algorithm == "SHA-256"
    assert compliance.compliance_standards == [ComplianceStandard.GAMP5, ComplianceStandard.CFR_PART_11,
                                               ComplianceStandard.ALCOA_PLUS]


def test_environment_variables_of_the_old_design_are_honoured():
    config = GxpOtelConfig.load(environ={
        "LOG_LEVEL": "debug", "LOG_DIRECTORY": "/var/log/pharma", "ENABLE_GAMP5_COMPLIANCE": "true",
        "AUDIT_RETENTION_DAYS": "3650", "ENABLE_TAMPER_EVIDENT": "false", "GXP_OTEL_EXCLUDE_EVENTS": "A, B",
        "OTEL_SERVICE_NAME": "lims", "PHOENIX_COLLECTOR_ENDPOINT": "http://127.0.0.1:7777",
    })
    assert config.logging.log_level is LogLevel.DEBUG
    assert config.logging.log_directory == "/var/log/pharma"
    assert config.gamp5_compliance.audit_retention_days == 3650
    assert config.gamp5_compliance.enable_tamper_evident is False
    assert config.logging.exclude_event_types == ["A", "B"]
    assert config.service_name == "lims"
    assert config.otlp_endpoint == "http://127.0.0.1:7777"


def test_toml_file_then_environment_override(tmp_path):
    path = tmp_path / "gxp.toml"
    path.write_text('[gxp_otel]\nservice_name = "from-toml"\ncapture_content = false\n'
                    '[logging]\nlog_level = "WARNING"\nbuffer_size = 50\n'
                    '[gamp5_compliance]\naudit_directory = "/srv/audit"\naudit_retention_days = 100\n')
    config = GxpOtelConfig.load(path, environ={"AUDIT_RETENTION_DAYS": "200"})
    assert config.service_name == "from-toml" and config.capture_content is False
    assert config.logging.log_level is LogLevel.WARNING and config.logging.buffer_size == 50
    assert config.gamp5_compliance.audit_directory == "/srv/audit"
    assert config.gamp5_compliance.audit_retention_days == 200
    assert GxpOtelConfig().logging.buffer_size == 1000  # loading never mutates the defaults


def test_enabling_compliance_the_old_way_puts_the_trail_next_to_the_event_logs():
    config = GxpOtelConfig.load(environ={"ENABLE_GAMP5_COMPLIANCE": "true", "LOG_DIRECTORY": "/var/log/pharma/events"})
    assert config.gamp5_compliance.audit_directory == "/var/log/pharma/audit"
    assert GxpOtelConfig.load(environ={"ENABLE_GAMP5_COMPLIANCE": "false"}).gamp5_compliance.audit_directory is None
    assert GxpOtelConfig.load(environ={}).gamp5_compliance.audit_directory is None


def test_traces_exporter_none_turns_otlp_off():
    assert GxpOtelConfig.load(environ={"OTEL_TRACES_EXPORTER": "none"}).otlp_endpoint is None


@pytest.mark.parametrize(("environ", "message"), [
    ({"AUDIT_RETENTION_DAYS": "seven years"}, "$AUDIT_RETENTION_DAYS: invalid value 'seven years'"),
    ({"ENABLE_TAMPER_EVIDENT": "maybe"}, "$ENABLE_TAMPER_EVIDENT: invalid value 'maybe'"),
    ({"LOG_LEVEL": "LOUD"}, "$LOG_LEVEL: invalid value 'LOUD'"),
    ({"GXP_OTEL_FSYNC": "never"}, "$GXP_OTEL_FSYNC: invalid value 'never'"),
])
def test_invalid_values_name_the_variable(environ, message):
    with pytest.raises(ConfigError) as err:
        GxpOtelConfig.load(environ=environ)
    assert message in str(err.value)


def test_unknown_toml_field_is_named(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[logging]\nlog_levle = 'INFO'\n")
    with pytest.raises(ConfigError, match=r"\[logging\]\.log_levle: unknown field 'log_levle' of LoggingConfig"):
        GxpOtelConfig.load(path, environ={})


def test_every_variable_is_documented_in_the_table():
    text = DOCS.read_text(encoding="utf-8")
    missing = [var for var in ENV_VARS if f"`{var}`" not in text]
    assert missing == []
