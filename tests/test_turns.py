"""Taking turns on the warehouse: a writer that has to wait says so."""

from __future__ import annotations

import logging
import threading
import time

from flows.turns import writer_turn
from warehouse import connect


def test_a_writer_that_waits_for_its_turn_says_so(tmp_path, caplog):
    wh = tmp_path / "w.duckdb"
    held = threading.Event()

    def hold():
        with connect(wh):
            held.set()
            time.sleep(0.5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    with caplog.at_level(logging.INFO, logger="news_ingest.turns"), writer_turn(wh) as con:
        assert con.execute("select count(*) from articles").fetchone() == (0,)
    holder.join()
    assert [r.getMessage() for r in caplog.records] == [
        f"waiting for the warehouse: another writer holds {wh}.lock"]


def test_no_word_when_the_turn_is_free(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="news_ingest.turns"), writer_turn(tmp_path / "w.duckdb"):
        pass
    assert caplog.records == []
