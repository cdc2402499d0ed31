"""Stand-ins for dbt's Jinja context, so sqlfluff's jinja templater can render the models.

sqlfluff (see `.sqlfluff` at the repo root) renders models with its jinja templater and
`apply_dbt_builtins` (ref, source, var, config, is_incremental, return) and loads the
project's real macros from `dbt_project/macros`. What those builtins lack is provided here:

- `adapter.dispatch(name, namespace)` returns the project's own `duckdb__<name>` macro (or
  `default__<name>`), exactly as dbt would on the DuckDB target;
- `dbt.<macro>(...)` renders DuckDB SQL for dbt's cross-database macros (a generic
  `name(args)` call for the ones not listed);
- `var(name, default)` returns the value from `dbt_project.yml` (`vars:`), so numbers and
  lists can be used in Jinja arithmetic and loops (sqlfluff's own `var` returns a string);
- `adapter.quote`, `target`, `execute` and a few other context members.

Only used for linting: dbt itself never imports this package.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

_DBT_PROJECT_YML = Path(__file__).resolve().parents[2] / "dbt_project.yml"

_DISPATCH_PREFIXES = ("duckdb__", "default__")


def _sql(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_sql(item) for item in value)
    return str(value)


class _Adapter:
    """Emulates dbt's `adapter` context member on the DuckDB target."""

    @staticmethod
    @jinja2.pass_context
    def dispatch(context: Any, macro_name: str, macro_namespace: str | None = None) -> Any:
        for prefix in _DISPATCH_PREFIXES:
            macro = context.get(prefix + macro_name)
            if macro is not None:
                return macro
        raise jinja2.UndefinedError(f"no duckdb__ or default__ implementation of {macro_name!r}")

    @staticmethod
    def quote(identifier: str) -> str:
        return f'"{identifier}"'

    @staticmethod
    def get_relation(*args: Any, **kwargs: Any) -> None:
        return None

    @staticmethod
    def get_columns_in_relation(*args: Any, **kwargs: Any) -> list[Any]:
        return []


class _Dbt:
    """Emulates dbt's own macro namespace (`dbt.dateadd(...)` and so on) in DuckDB SQL."""

    type_string = staticmethod(lambda: "varchar")
    type_bigint = staticmethod(lambda: "bigint")
    type_int = staticmethod(lambda: "integer")
    type_float = staticmethod(lambda: "double")
    type_numeric = staticmethod(lambda: "numeric(28, 6)")
    type_timestamp = staticmethod(lambda: "timestamp")
    type_boolean = staticmethod(lambda: "boolean")
    current_timestamp = staticmethod(lambda: "now()")

    @staticmethod
    def hash(field: Any) -> str:
        return f"md5(cast({_sql(field)} as varchar))"

    @staticmethod
    def concat(fields: Any) -> str:
        return f"concat({_sql(fields)})"

    @staticmethod
    def dateadd(datepart: str, interval: Any, from_date_or_timestamp: Any) -> str:
        return f"date_add({_sql(from_date_or_timestamp)}, to_{datepart}s({_sql(interval)}))"

    @staticmethod
    def datediff(first_date: Any, second_date: Any, datepart: str) -> str:
        return f"date_diff('{datepart}', {_sql(first_date)}, {_sql(second_date)})"

    @staticmethod
    def date_trunc(datepart: str, date: Any) -> str:
        return f"date_trunc('{datepart}', {_sql(date)})"

    @staticmethod
    def split_part(string_text: Any, delimiter_text: Any, part_number: Any) -> str:
        return f"split_part({_sql(string_text)}, {_sql(delimiter_text)}, {_sql(part_number)})"

    @staticmethod
    def safe_cast(field: Any, type_: Any) -> str:
        return f"try_cast({_sql(field)} as {_sql(type_)})"

    @staticmethod
    def cast(field: Any, type_: Any) -> str:
        return f"cast({_sql(field)} as {_sql(type_)})"

    @staticmethod
    def listagg(
        measure: Any,
        delimiter_text: Any = "','",
        order_by_clause: Any = None,
        limit_num: Any = None,
    ) -> str:
        order_by = f" {order_by_clause}" if order_by_clause else ""
        return f"string_agg({_sql(measure)}, {_sql(delimiter_text)}{order_by})"

    @staticmethod
    def string_literal(value: Any) -> str:
        return f"'{value}'"

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: f"{name}({_sql(list(args))})"


class _Target:
    name = "duckdb"
    type = "duckdb"
    schema = "main"
    database = "flywheel"
    threads = 1
    profile_name = "flywheel"


@lru_cache(maxsize=1)
def _project_vars() -> dict[str, Any]:
    try:
        project = yaml.safe_load(_DBT_PROJECT_YML.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    project_vars = dict(project.get("vars") or {})
    # vars may also be scoped to a package: {"flywheel": {...}}
    scoped = project_vars.pop(project.get("name", "flywheel"), None)
    if isinstance(scoped, dict):
        project_vars.update(scoped)
    return project_vars


def var(name: str, default: Any = None) -> Any:
    """dbt's `var()`: the project's value, else the default, else the name as a placeholder."""
    project_vars = _project_vars()
    if name in project_vars:
        return project_vars[name]
    return default if default is not None else name


adapter = _Adapter()
dbt = _Dbt()
target = _Target()
execute = False
flags = type("flags", (), {"FULL_REFRESH": False, "WHICH": "run"})()
