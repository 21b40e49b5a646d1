"""Uncaught exceptions in Python 3.11 (exit 1). `plain`: IndexError with the 3.11 `~~~^^^` markers.
`chained`: a KeyError re-raised as RuntimeError (`The above exception was the direct cause ...`)."""

import logging
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("orders")


def first_item(items):
    return items[1]


def handle(order):
    return first_item(order["items"])


def load_config(config):
    try:
        return config["database_url"]
    except KeyError as e:
        raise RuntimeError("database_url is not configured") from e


log.info("worker started")
if sys.argv[1:] == ["chained"]:
    load_config({})
else:
    handle({"id": 7, "items": ["a"]})
