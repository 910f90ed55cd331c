"""IB's pacing rules for historical data, kept on our side so IB never has to refuse a request.

IB allows at most 60 historical-data requests in any 10 minutes and no identical request within
15 seconds (a violation is error 162 and a pacing penalty). The client library already throttles
all messages to 45 a second (``Client.MaxRequests``). ``HistoricalPacer.wait_for`` says how long to
wait before a request may go; ``record`` notes one that went.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable

WINDOW_S = 600.0
MAX_IN_WINDOW = 60
IDENTICAL_S = 15.0
MESSAGES_PER_S = 45


class HistoricalPacer:
    def __init__(self, clock: Callable[[], float] = time.monotonic, *, window_s: float = WINDOW_S,
                 max_in_window: int = MAX_IN_WINDOW, identical_s: float = IDENTICAL_S) -> None:
        self.clock = clock
        self.window_s, self.max_in_window, self.identical_s = window_s, max_in_window, identical_s
        self._sent: deque[float] = deque()
        self._last: dict[Hashable, float] = {}

    def wait_for(self, key: Hashable) -> float:
        """Seconds until a request identified by ``key`` (its contract, end, duration, bar size, type) may go."""
        now = self.clock()
        while self._sent and now - self._sent[0] >= self.window_s:
            self._sent.popleft()
        waits = [0.0]
        if len(self._sent) >= self.max_in_window:
            waits.append(self._sent[0] + self.window_s - now)
        last = self._last.get(key)
        if last is not None:
            waits.append(last + self.identical_s - now)
        return max(waits)

    def record(self, key: Hashable) -> None:
        now = self.clock()
        self._sent.append(now)
        self._last[key] = now
