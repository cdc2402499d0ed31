"""What every suite is built from: an expectation suite made without a data context, and the
template that names an offending row."""

import great_expectations as gx
import great_expectations.expectations as gxe

from orchestration.quality.validation import OFFENDING_ROW


def suite(name: str, *expectations: gxe.Expectation) -> gx.ExpectationSuite:
    # Passed to the constructor: add_expectation() would need an active data context.
    return gx.ExpectationSuite(name=name, expectations=list(expectations))


def offending_row(template: str) -> dict[str, str]:
    """An expectation's `meta`: how checks name a row that breaks it, e.g.
    "account {account_id} had {events:,} events on {event_date}"."""
    return {OFFENDING_ROW: template}
