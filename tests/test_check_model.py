"""The check model: how a gate is registered and what a result keeps."""

from __future__ import annotations

import pytest

from bottleneck_pipeline.checks.model import ERROR, REGISTRY, WARN, CheckResult, Finding, blocking, evaluate, gate


def test_a_registered_gate_keeps_its_function_and_refuses_an_unknown_severity_or_family():
    def finding(ctx) -> Finding:
        return Finding(12, 12, 0, "douze", [{"n": i} for i in range(12)])

    try:
        assert gate("test_model", "twelve", ERROR, "volumes", "Douze lignes.")(finding) is finding
        (registered,) = REGISTRY["test_model"]
        assert (registered.id, registered.severity, registered.func) == ("test_model.twelve", ERROR, finding)
        result = evaluate(registered, finding(None))
        assert (result.passed, result.offending_count, len(result.rows)) == (False, 12, 12)  # the whole list
        assert result.rows[-1] == {"n": 11}
        many = evaluate(registered, Finding(250, 250, 0, "trop", [{"n": i} for i in range(250)]))
        assert (many.offending_count, len(many.rows), many.rows[-1]) == (250, 200, {"n": 199})  # bounded
        with pytest.raises(AssertionError):
            gate("test_model", "x", ERROR, "unknown_family", "")
        with pytest.raises(AssertionError):
            gate("test_model", "x", "fatal", "volumes", "")
    finally:
        REGISTRY.pop("test_model", None)


def test_blocking_keeps_the_failed_errors_only_in_their_order():
    def result(gate_id: str, severity: str, passed: bool) -> CheckResult:
        return CheckResult(gate_id, "clean", severity, "volumes", "", passed, 0, 0, "", 0, [])

    results = [
        result("a.error_failed", ERROR, False),
        result("b.warning_failed", WARN, False),
        result("c.error_passed", ERROR, True),
        result("d.error_failed", ERROR, False),
    ]
    assert [r.id for r in blocking(results)] == ["a.error_failed", "d.error_failed"]
    assert blocking(results[1:3]) == []
