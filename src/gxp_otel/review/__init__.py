"""Reviewing a trail: the HTML review dashboard (``build_review`` + ``render_review``), search (``find_records``)
and the on-disk index (``build_index``). Verification itself is ``gxp_otel.audit.verifier``'s; this package only
reads and presents.
"""

from gxp_otel.review.build import ReviewOptions, build_review
from gxp_otel.review.filters import RecordFilter, parse_when
from gxp_otel.review.index import build_index, default_index_path, is_fresh, update_index
from gxp_otel.review.render import render_review
from gxp_otel.review.search import find_records

__all__ = ["RecordFilter", "ReviewOptions", "build_index", "build_review", "default_index_path", "find_records",
           "is_fresh", "parse_when", "render_review", "update_index"]
