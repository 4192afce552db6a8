"""Many streams of one layout (rate, channels), each on its own honest clock, through resampler, band filter, ring
buffers, windows and checks in one pass: the per-stream path of `StreamWindows`, vectorised over the streams."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import sosfilt_zi

from eegd.eegstream.band_filter import BLOCK as BAND_BLOCK
from eegd.eegstream.band_filter import BandFilter, BandSettings
from eegd.eegstream.quality import SUSPECT_UNIT, QualityLimits, UnitCheck, window_issues
from eegd.eegstream.resampler import FIR_BLOCK, Resampler
from eegd.eegstream.stream_windows import RING_CAPACITY, needs_resampling

MAX_PASS = 1024  # input samples of one stream taken into one pass (a backlog is worked off in several)


@dataclass(slots=True)
class _Piece:
    samples: np.ndarray
    timestamps: np.ndarray
    gap: bool
    lost: int
    reversal: bool


@dataclass(slots=True)
class SlotResult:
    """What one pass did for one stream: its windows are rows `first:first + count` of the group's output,
    `issues` the bitmask of its windows left out; the fields mean what they mean in `Windows`."""

    slot: int
    first: int
    count: int
    broken: bool
    issues: int
    gaps: int
    reversals: int
    bad_windows: int
    lost: int
    t: float  # the time of the first sample of the pass


@dataclass(slots=True)
class GroupWindows:
    """The windows fit to classify of every stream of a pass, (n, channels, length), with their slots and
    times, and each stream's result."""

    slots: np.ndarray
    windows: np.ndarray
    t_start: np.ndarray
    t_end: np.ndarray
    results: list[SlotResult] = field(default_factory=list)


def _pad(pieces: list[np.ndarray], counts: np.ndarray, width: int, fill: float = 0.0) -> np.ndarray:
    """Each stream's samples (n_s, ...) as rows of one (streams, width, ...) array, padded with `fill`."""
    cat = np.concatenate(pieces)
    out = np.full((len(counts), width, *cat.shape[1:]), fill, dtype=np.float64)
    rows = np.repeat(np.arange(len(counts)), counts)
    cols = np.arange(len(cat)) - np.repeat(np.cumsum(counts) - counts, counts)
    out[rows, cols] = cat
    return out


class StreamGroup:
    """Streams live in slots of stacked state arrays. `stage` takes a stream's chunk (its timestamps already on
    an honest clock: a break is the source's `gap`, never read off the stamps); `process` runs everything staged,
    all streams at once. Windows, timestamps and checks agree with `StreamWindows` fed the same chunks."""

    def __init__(self, rate: float, channels: int, model_rate: float, window: int, hop: int, limits: QualityLimits,
                 band: BandSettings | None = None, capacity: int = RING_CAPACITY) -> None:
        if rate <= 0:
            raise ValueError("irregular sampling rate, cannot cut fixed-rate windows")
        self.rate, self.channels, self.limits = rate, channels, limits
        self.length, self.hop, self.capacity = window, hop, capacity
        self.resampler = Resampler(rate, model_rate, channels) if needs_resampling(rate, model_rate) else None
        out_rate = model_rate if self.resampler else rate
        self.band = BandFilter(band, out_rate, channels) if band is not None and band.enabled else None
        self._slots = 0
        self._free: list[int] = []
        self._staged: dict[int, list[_Piece]] = {}
        self._staged_n: dict[int, int] = {}  # samples staged per slot
        self.raw_ring: np.ndarray | None = None  # the unfiltered ring, with a band filter only
        self.unit_checks: list[UnitCheck] = []
        self._grow(8)

    # --- slots --------------------------------------------------------------------------------------------
    def _grow(self, size: int) -> None:
        """Room for `size` streams: every per-stream state array grown along its first axis, what it held kept."""
        c, k = self.channels, 0 if self.resampler is None else len(self.resampler.taps) - 1
        dim = 0 if self.band is None else 2 * len(self.band.sos)
        state: dict[str, tuple[tuple[int, ...], type]] = {
            "ring": ((self.capacity, c), np.float32), "ring_t": ((self.capacity,), np.float64),
            "head": ((), np.int64), "next_start": ((), np.int64), "overruns": ((), np.int64),
            "hist": ((k, c), np.float64),  # the resampler's FIR state: the last k inputs ...
            "bad_hist": ((k,), np.float64),  # ... and which of them were not finite
            "prev_x": ((c,), np.float64), "prev_t": ((), np.float64),  # the last filtered input, for interpolation
            "prev_bad": ((), np.float64), "next_pos": ((), np.float64),
            "fresh": ((), bool),  # no resampler state yet (start or a break)
            "zi": ((dim, c), np.float64), "zi_fresh": ((), bool),  # the band filter's state
            "last": ((c,), np.float64),  # the band filter's last finite sample
        }
        if self.band is not None:
            state["raw_ring"] = ((self.capacity, c), np.float32)  # what the band filter was given
        for name, (shape, dtype) in state.items():
            new = np.zeros((size, *shape), dtype=dtype)
            old = getattr(self, name, None)
            if old is not None:
                new[: len(old)] = old
            setattr(self, name, new)
        self.unit_checks += [UnitCheck() for _ in range(size - len(self.unit_checks))]
        self.size = size

    def add(self) -> int:
        """A new stream's slot, starting afresh."""
        if self._free:
            slot = self._free.pop()
        else:
            if self._slots == self.size:
                self._grow(2 * self.size)
            slot, self._slots = self._slots, self._slots + 1
        self.head[slot] = self.next_start[slot] = self.overruns[slot] = 0
        self.last[slot] = 0.0
        self._restart(slot)
        self.unit_checks[slot] = UnitCheck()
        self._staged[slot] = []
        self._staged_n[slot] = 0
        return slot

    def remove(self, slot: int) -> int:
        """Free a stream's slot (what it had staged is dropped); returns its overrun count."""
        self._staged.pop(slot, None)
        self._staged_n.pop(slot, None)
        self._free.append(slot)
        return int(self.overruns[slot])

    def _restart(self, slot: int) -> None:
        self.next_start[slot] = self.head[slot]
        self.fresh[slot] = self.zi_fresh[slot] = True
        self.next_pos[slot] = self.prev_bad[slot] = 0.0
        self.bad_hist[slot] = 0.0

    # --- input --------------------------------------------------------------------------------------------
    def stage(self, slot: int, samples: np.ndarray, timestamps: np.ndarray, gap: bool = False, lost: int = 0,
              reversal: bool = False) -> None:
        """Queue a chunk (n, channels) for the next `process`; `gap`: the signal broke before it."""
        if len(samples):
            self._staged[slot].append(_Piece(samples, timestamps, gap, lost, reversal))
            self._staged_n[slot] += len(samples)

    def staged(self, slot: int) -> int:
        return self._staged_n.get(slot, 0)

    def samples_wanted(self, slot: int) -> int:
        """Input samples still to come, beyond those staged, before the slot has a window more than what is staged
        completes (>= 1): what a source may hold its chunks for."""
        step = self.resampler.step if self.resampler is not None else 1.0
        need = int(self.next_start[slot]) + self.length - int(self.head[slot]) - self.staged(slot) / step
        if need <= 0:  # the staged samples complete the next window: hold for the one after it
            need += self.hop * (1 + int(-need // self.hop))
        return max(1, math.ceil(need * step - 1e-9))

    @property
    def pending(self) -> bool:
        return any(self._staged.values())

    # --- one pass -----------------------------------------------------------------------------------------
    def process(self) -> GroupWindows:
        """Everything staged, in as many passes as breaks and backlog need; the windows fit to classify."""
        outs = []
        while self.pending:
            outs.append(self._pass())
        if len(outs) == 1:
            return outs[0]
        if not outs:
            empty = np.empty(0)
            return GroupWindows(empty.astype(np.int64), np.empty((0, self.channels, self.length), np.float32),
                                empty, empty, [])
        res: list[SlotResult] = []
        for o in outs:
            offset = sum(r.count for r in res)
            for r in o.results:
                r.first += offset
            res += o.results
        return GroupWindows(*(np.concatenate([getattr(o, f) for o in outs])
                              for f in ("slots", "windows", "t_start", "t_end")), res)

    def _take(self) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray], list[tuple[bool, int, bool]]]:
        """Per slot with something staged: its pieces up to the next break (a break opens a pass), MAX_PASS at most."""
        slots, xs, ts, flags = [], [], [], []
        for slot, pieces in self._staged.items():
            if not pieces:
                continue
            take, n = [], 0
            while pieces and n < MAX_PASS and (not take or not pieces[0].gap):
                p = pieces[0]
                if n + len(p.samples) > MAX_PASS:  # split the piece: the rest waits for the next pass
                    cut = MAX_PASS - n
                    pieces[0] = _Piece(p.samples[cut:], p.timestamps[cut:], False, 0, False)
                    p = _Piece(p.samples[:cut], p.timestamps[:cut], p.gap, p.lost, p.reversal)
                else:
                    pieces.pop(0)
                take.append(p)
                n += len(p.samples)
            slots.append(slot)
            self._staged_n[slot] -= n
            xs.append(take[0].samples if len(take) == 1 else np.concatenate([p.samples for p in take]))
            ts.append(take[0].timestamps if len(take) == 1 else np.concatenate([p.timestamps for p in take]))
            flags.append((take[0].gap, take[0].lost, take[0].reversal))
        return np.array(slots, dtype=np.int64), xs, ts, flags

    def _pass(self) -> GroupWindows:
        slots, xs, ts, flags = self._take()
        for s, (gap, _, _) in zip(slots.tolist(), flags, strict=True):
            if gap:
                self._restart(s)
        suspect = [self.unit_checks[s].update(x, t) for s, x, t in zip(slots.tolist(), xs, ts, strict=True)]
        n = np.array([len(x) for x in xs])
        x, t = _pad(xs, n, int(n.max())), _pad(ts, n, int(n.max()))
        if self.resampler is not None:
            y, yt, k = self._resample(slots, x, t, n)
        else:
            y, yt, k = x.astype(np.float32), t, n
        raw = y
        if self.band is not None:
            y = self._filter(slots, y, k)
        self._write(slots, y, yt, k, raw if self.band is not None else None)
        return self._windows(slots, suspect, flags, [float(v[0]) for v in ts])

    def _resample(self, slots: np.ndarray, x: np.ndarray, t: np.ndarray, n: np.ndarray,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`Resampler.process` for every slot: padded (S, N, C) inputs -> padded outputs and output counts."""
        rs = self.resampler
        assert rs is not None
        s_count, width = len(slots), x.shape[1]
        k = len(rs.taps) - 1
        rows = np.arange(s_count)
        fresh = self.fresh[slots]
        bad = ~np.isfinite(x).all(axis=2)  # (S, N); the padding is finite
        dirty = bad.any() or self.prev_bad[slots].any() or self.bad_hist[slots].any()
        if dirty:
            x[bad] = 0.0
        hist = self.hist[slots]
        if fresh.any():  # settle on the first sample, as if it had always been there
            hist[fresh] = x[fresh, :1]
        ext = np.concatenate([hist, x], axis=1)  # (S, k + N, C)
        tail = n[:, None] + np.arange(k)
        self.hist[slots] = ext[rows[:, None], tail]
        y = np.empty((s_count, width, x.shape[2]))
        for a in range(0, width, FIR_BLOCK):
            b = min(FIR_BLOCK, width - a)
            y[:, a : a + b] = rs._band[:b, : b + k] @ ext[:, a : a + b + k]
        if dirty:
            bad_ext = np.concatenate([np.where(fresh[:, None], 0.0, self.bad_hist[slots]), bad], axis=1)
            self.bad_hist[slots] = bad_ext[rows[:, None], tail]
            window = np.lib.stride_tricks.sliding_window_view(bad_ext, k + 1, axis=1)  # (S, N, k + 1)
            bs = np.concatenate([self.prev_bad[slots][:, None], window.sum(axis=2)], axis=1)
        # interpolation over [previous last input, this pass's inputs]; a fresh slot has no previous one
        ys = np.concatenate([np.where(fresh[:, None], 0.0, self.prev_x[slots])[:, None], y], axis=1)
        yts = np.concatenate([self.prev_t[slots][:, None], t], axis=1)
        first = np.where(fresh, 1.0, self.next_pos[slots])
        count = np.maximum(0, np.ceil((n + 1e-9 - first) / rs.step)).astype(np.int64)
        pos = first[:, None] + np.arange(max(1, int(count.max()))) * rs.step
        i0 = np.minimum(pos.astype(np.int64), n[:, None])
        i1 = np.minimum(i0 + 1, n[:, None])
        w = pos - i0
        a = ys[rows[:, None], i0]
        out = a + (ys[rows[:, None], i1] - a) * w[..., None]
        if dirty:
            mixed = bs[rows[:, None], i0] * (1 - w) + bs[rows[:, None], i1] * w
            out[mixed > 0.5 / (k + 1)] = np.nan
            self.prev_bad[slots] = bs[rows, n]
        out_t = yts[rows[:, None], i0] * (1 - w) + yts[rows[:, None], i1] * w - rs.delay_s
        last = pos[rows, np.maximum(count - 1, 0)]
        self.next_pos[slots] = np.where(count > 0, last + rs.step - n, first - n)
        self.prev_x[slots] = ys[rows, n]
        self.prev_t[slots] = yts[rows, n]
        self.fresh[slots] = False
        return out.astype(np.float32), out_t, count

    def _filter(self, slots: np.ndarray, y: np.ndarray, k: np.ndarray) -> np.ndarray:
        """`BandFilter.process` for every slot over its first k[s] samples of padded (S, K, C)."""
        band = self.band
        assert band is not None
        x = y.astype(np.float64)
        s_count, width, _ = x.shape
        rows = np.arange(s_count)
        valid = np.arange(width)[None, :] < k[:, None]
        bad = ~np.isfinite(x) & valid[..., None]
        if bad.any():  # hold the last finite value through non-finite samples, marked NaN afterwards
            idx = np.where(bad, -1, np.arange(width)[None, :, None])
            np.maximum.accumulate(idx, axis=1, out=idx)
            held = np.take_along_axis(x, np.maximum(idx, 0), axis=1)
            x = np.where(idx >= 0, held, self.last[slots][:, None, :])
        x[~valid] = 0.0
        zi = self.zi[slots]
        start = self.zi_fresh[slots] & (k > 0)
        if start.any():  # as if the first sample had always been there
            zi[start] = (sosfilt_zi(band.sos)[None, :, :, None] * x[start, 0][:, None, None, :]).reshape(
                int(start.sum()), -1, self.channels)
        big_h, obs, p, kmat = band._block
        out = np.empty_like(x)
        for a in range(0, width, BAND_BLOCK):
            xb = x[:, a : a + BAND_BLOCK]
            m = xb.shape[1]
            out[:, a : a + m] = big_h[:m, :m] @ xb + obs[:m] @ zi
            steps = np.clip(k - a, 0, m)  # the samples of this block that are the slot's own
            cols = BAND_BLOCK - steps[:, None] + np.arange(m)
            own = (np.arange(m) < steps[:, None])[:, None, :]
            gain = np.where(own, kmat[:, np.minimum(cols, BAND_BLOCK - 1)].transpose(1, 0, 2), 0.0)  # (S, dim, m)
            zi = p[steps] @ zi + gain @ xb
        self.zi[slots] = zi
        self.zi_fresh[slots] &= k == 0
        has = k > 0
        self.last[slots[has]] = x[rows[has], k[has] - 1]
        if bad.any():
            out[bad] = np.nan
        return out.astype(np.float32)

    def _write(self, slots: np.ndarray, y: np.ndarray, yt: np.ndarray, k: np.ndarray,
               raw: np.ndarray | None) -> None:
        """Append each slot's k[s] samples to its ring (and the unfiltered ring)."""
        valid = np.arange(y.shape[1])[None, :] < k[:, None]
        rows = np.broadcast_to(slots[:, None], valid.shape)[valid]
        cols = ((self.head[slots][:, None] + np.arange(y.shape[1])) % self.capacity)[valid]
        self.ring[rows, cols] = y[valid]
        self.ring_t[rows, cols] = yt[valid]
        if raw is not None and self.raw_ring is not None:
            self.raw_ring[rows, cols] = raw[valid]
        self.head[slots] += k

    def _windows(self, slots: np.ndarray, suspect: list[bool], flags: list[tuple[bool, int, bool]],
                 t_first: list[float]) -> GroupWindows:
        head, start = self.head[slots], self.next_start[slots]
        oldest = np.maximum(0, head - self.capacity)
        behind = start < oldest
        if behind.any():  # overrun: the reader fell behind the writer
            lost = oldest - start
            self.overruns[slots] += np.where(behind, lost, 0)
            start = np.where(behind, start + -(-lost // self.hop) * self.hop, start)
        count = np.where(head - self.length >= start, (head - self.length - start) // self.hop + 1, 0)
        self.next_start[slots] = start + count * self.hop
        win_slot = np.repeat(slots, count)
        offsets = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        starts = np.repeat(start, count) + offsets * self.hop
        cols = (starts[:, None] + np.arange(self.length)) % self.capacity
        w = self.ring[win_slot[:, None], cols].transpose(0, 2, 1)
        t0 = self.ring_t[win_slot, cols[:, 0]]
        t1 = self.ring_t[win_slot, cols[:, -1]]
        raw = None if self.raw_ring is None else self.raw_ring[win_slot[:, None], cols].transpose(0, 2, 1)
        issues = window_issues(w, self.limits, raw)
        good = issues == 0
        results, kept = [], 0
        bounds = np.concatenate([[0], np.cumsum(count)]).tolist()
        all_good = bool(good.all())
        for i, s in enumerate(slots.tolist()):
            a, b = bounds[i], bounds[i + 1]
            gap, lost, reversal = flags[i]
            mask = 0 if all_good or a == b else int(np.bitwise_or.reduce(issues[a:b]))
            n_good = (b - a) if all_good else int(good[a:b].sum())
            if suspect[i] and b > a:
                mask |= SUSPECT_UNIT
            bad = (b - a) - n_good
            results.append(SlotResult(s, kept, n_good, gap or bad > 0, mask, int(gap and not reversal),
                                      int(gap and reversal), bad, lost, t_first[i]))
            kept += n_good
        if not all_good:
            win_slot, w, t0, t1 = win_slot[good], w[good], t0[good], t1[good]
        return GroupWindows(win_slot, np.ascontiguousarray(w), t0, t1, results)
