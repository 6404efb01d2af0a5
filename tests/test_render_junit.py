"""JUnit XML: validates against a JUnit XSD; exercises map to testcases, statuses to elements."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from grader.core.models import CheckResult, ErrorInfo, ExerciseResult, GradeResult, Status
from grader.render.junit import render_junit, write_junit
from tests.shipped import EXERCISES

# The Jenkins/Ant JUnit schema (junit-10.xsd), reduced to what CI tools read.
JUNIT_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:simpleType name="SUREFIRE_TIME">
    <xs:restriction base="xs:string">
      <xs:pattern value="(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\\.[0-9]{0,3})?"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:complexType name="problem" mixed="true">
    <xs:attribute name="type" type="xs:string"/>
    <xs:attribute name="message" type="xs:string"/>
  </xs:complexType>
  <xs:element name="testcase">
    <xs:complexType>
      <xs:sequence>
        <xs:choice minOccurs="0" maxOccurs="unbounded">
          <xs:element name="skipped" type="problem"/>
          <xs:element name="error" type="problem"/>
          <xs:element name="failure" type="problem"/>
          <xs:element name="system-out" type="xs:string"/>
          <xs:element name="system-err" type="xs:string"/>
        </xs:choice>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="classname" type="xs:string"/>
      <xs:attribute name="time" type="SUREFIRE_TIME"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuite">
    <xs:complexType>
      <xs:sequence><xs:element ref="testcase" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="tests" type="xs:nonNegativeInteger" use="required"/>
      <xs:attribute name="failures" type="xs:nonNegativeInteger" use="required"/>
      <xs:attribute name="errors" type="xs:nonNegativeInteger" use="required"/>
      <xs:attribute name="skipped" type="xs:nonNegativeInteger"/>
      <xs:attribute name="time" type="SUREFIRE_TIME"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuites">
    <xs:complexType>
      <xs:sequence><xs:element ref="testsuite" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
      <xs:attribute name="name" type="xs:string"/>
      <xs:attribute name="tests" type="xs:nonNegativeInteger"/>
      <xs:attribute name="failures" type="xs:nonNegativeInteger"/>
      <xs:attribute name="errors" type="xs:nonNegativeInteger"/>
      <xs:attribute name="time" type="SUREFIRE_TIME"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""
SCHEMA = xmlschema.XMLSchema(JUNIT_XSD)

STATUSES = [Status.PASSED, Status.FAILED, Status.ERROR, Status.TIMEOUT, Status.MISSING]


def graded(name: str = "alice.ipynb", message: str = "a_next differs") -> GradeResult:
    exercises = []
    for i, spec in enumerate(EXERCISES):
        status = STATUSES[i % len(STATUSES)]
        passed = status is Status.PASSED
        exercises.append(
            ExerciseResult(
                spec.name, status, spec.points if passed else 0.0, spec.points,
                checks=(CheckResult("values of a_next", passed, "" if passed else message),),
                reason="" if passed else message,
                error=ErrorInfo("timeout", "ran past 10 s") if status is Status.TIMEOUT else None,
                duration=0.25,
            )
        )  # fmt: skip
    score = sum(e.score for e in exercises)
    return GradeResult(name, "graded", None, score, 100.0, tuple(exercises), duration=3.0)


def invalid(name: str = "bad.ipynb") -> GradeResult:
    return GradeResult(name, "invalid", f"{name}: is not valid JSON", 0.0, 0.0)


def test_validates_and_maps_statuses() -> None:
    xml = render_junit([graded(), invalid()])
    SCHEMA.validate(xml)
    root = ET.fromstring(xml)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["alice.ipynb", "bad.ipynb"]
    cases = {c.get("name"): c for c in suites[0].findall("testcase")}
    assert list(cases) == [e.name for e in EXERCISES]
    kinds = {name: [child.tag for child in case] for name, case in cases.items()}
    by_status = {e.name: e.status for e in graded().exercises}
    for name, status in by_status.items():
        expected = {
            Status.PASSED: [],
            Status.FAILED: ["failure"],
            Status.MISSING: ["failure"],
            Status.ERROR: ["error"],
            Status.TIMEOUT: ["error"],
        }[status]
        assert kinds[name] == expected, name
    n_fail = sum(s in (Status.FAILED, Status.MISSING) for s in by_status.values())
    n_err = sum(s in (Status.ERROR, Status.TIMEOUT) for s in by_status.values())
    assert suites[0].get("failures") == str(n_fail) and suites[0].get("errors") == str(n_err)
    assert root.get("tests") == str(len(EXERCISES) + 1)


def test_failure_carries_reason() -> None:
    root = ET.fromstring(render_junit([graded(message="yt_pred differs in 3 of 20")]))
    failure = root.find(".//testcase[@name='rnn_forward']/failure")
    assert failure is not None
    assert "yt_pred differs in 3 of 20" in (failure.get("message") or "")
    assert "yt_pred differs in 3 of 20" in (failure.text or "")


def test_invalid_notebook_is_one_error_case() -> None:
    root = ET.fromstring(render_junit([invalid()]))
    case = root.find("testsuite/testcase")
    assert case is not None and case.get("name") == "load"
    err = case.find("error")
    assert err is not None and "not valid JSON" in (err.get("message") or "")


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param("\x00\x1b[31mred\x07", id="control-chars"),
        pytest.param("]]></failure><x>", id="cdata-end"),
        pytest.param("\ud800 lone surrogate", id="surrogate"),
    ],
)
def test_student_text_cannot_break_the_xml(hostile: str) -> None:
    xml = render_junit([graded(name=f"n{hostile}.ipynb", message=hostile)])
    SCHEMA.validate(xml)


def test_write_is_atomic_file(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "junit.xml"
    write_junit([graded()], out)
    SCHEMA.validate(out.read_text(encoding="utf-8"))
    assert sorted(p.name for p in out.parent.iterdir()) == ["junit.xml"]
