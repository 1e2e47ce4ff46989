"""matbench.parallel.prefetch: the read-ahead thread that overlaps decoding with computing."""
import gc
import threading
import time

import pytest

from matbench.errors import MatbenchError
from matbench.parallel import prefetch


def _fail_on_five(x):
    if x == 5:
        raise MatbenchError("file5.png: bad")
    return x * 2


def _alive():
    return [t for t in threading.enumerate() if t.name == "matbench-prefetch"]


def test_in_order_bounded_and_errors_at_their_turn():
    assert list(prefetch(lambda x: x + 1, range(50), 3)) == list(range(1, 51))
    got = []
    with pytest.raises(MatbenchError, match=r"^file5\.png: bad$"):
        for v in prefetch(_fail_on_five, range(10), 2):
            got.append(v)
    assert got == [0, 2, 4, 6, 8]  # the items before the bad one, then its error
    started = []
    p = prefetch(started.append, range(100), 2)
    time.sleep(0.2)  # read ahead at most 2 (+ the one waiting to be queued) before anything is consumed
    assert len(started) <= 3
    p.close()


def test_the_thread_stops_when_the_iterator_is_dropped():
    p = prefetch(lambda x: x, range(10 ** 6), 4)
    next(p)
    del p
    gc.collect()
    for _ in range(50):
        if not _alive():
            break
        time.sleep(0.05)
    assert not _alive()
