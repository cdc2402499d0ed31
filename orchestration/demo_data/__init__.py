"""Deterministic demo data in Flywheel's raw input contract (`flywheel generate`)."""

from orchestration.demo_data.generator import GenerationSummary, generate

__all__ = ["GenerationSummary", "generate"]
