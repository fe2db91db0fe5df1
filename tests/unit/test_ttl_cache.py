"""chalicelib.ttl_cache: the one in-memory cache behind API tokens, display names and live windows."""

from __future__ import annotations

from chalicelib.ttl_cache import TTLCache


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_value_is_kept_its_seconds_and_then_missed():
    clock = Clock(100.0)
    cache: TTLCache[str, int] = TTLCache(30, 8, clock)
    cache.put("a", 1)
    clock.now = 129.9
    assert cache.get("a") == 1
    clock.now = 130.0
    assert cache.get("a") is None
    assert cache.get("never put") is None


def test_an_explicit_now_overrides_the_clock_and_a_past_now_keeps_an_aged_copy_for_less():
    cache: TTLCache[str, str] = TTLCache(60, 8, Clock(0.0))
    cache.put("window", "aged", now=1000.0 - 45)  # a copy already 45 s old elsewhere
    assert cache.get("window", now=1000.0) == "aged"
    assert cache.get("window", now=1015.0) is None


def test_when_full_the_expired_entries_go_first_then_everything():
    clock = Clock(0.0)
    cache: TTLCache[int, int] = TTLCache(10, 3, clock)
    cache.put(1, 1)
    clock.now = 5.0
    cache.put(2, 2)
    cache.put(3, 3)
    clock.now = 12.0  # 1 has expired, 2 and 3 have not
    cache.put(4, 4)
    assert (len(cache), cache.get(2), cache.get(4)) == (3, 2, 4)
    cache.put(5, 5)  # nothing expired: a full cache starts again rather than grow
    assert (len(cache), cache.get(2), cache.get(5)) == (1, None, 5)


def test_putting_a_key_again_replaces_it_without_eviction_and_clear_forgets_all():
    cache: TTLCache[str, int] = TTLCache(10, 2, Clock(0.0))
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("b", 3)
    assert (cache.get("a"), cache.get("b")) == (1, 3)
    cache.clear()
    assert (len(cache), cache.get("a")) == (0, None)
