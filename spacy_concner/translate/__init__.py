"""Translate the source with label projection: MT engines (:mod:`.engines`), marker projection
(:mod:`.projection`), the ``translate`` step (:mod:`.translate_train`)."""
