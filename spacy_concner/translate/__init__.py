"""Translate the source with label projection: MT backends, marker projection, the ``translate`` step."""
