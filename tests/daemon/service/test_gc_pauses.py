import gc
import weakref

from eegd.daemon.service.gc_pauses import steady_gc


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_cyclic_garbage_is_still_collected_while_serving():
    before = gc.get_threshold()
    with steady_gc(gen0_threshold=5_000):
        first = Node()
        ref = weakref.ref(first)
        del first
        for _ in range(20_000):  # a daemon's worth of allocations: the collector runs by itself
            Node()
        assert ref() is None
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
