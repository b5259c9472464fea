"""USAXS geometry and the photodiode amplifier: the formulas plans, devices and reduction share.

Units: energy keV, wavelength angstrom, angles degrees, Q 1/angstrom,
lengths mm, times s. The simulator (``sim/usaxs_sim/physics.py``) keeps its
own copies on purpose (it never imports this package); ``tests/sim`` checks
that they agree with these.
"""

from __future__ import annotations

import numpy as np

HC_KEV_A = 12.398419843
"""h c in keV angstrom: ``wavelength [A] = HC_KEV_A / energy [keV]``."""

UPD_RANGES = 5
"""Ranges of the photodiode amplifier (DDPCA300): 0 (lowest gain) .. 4."""

MASK_TIMES = (0.002, 0.002, 0.003, 0.02, 0.17)
"""Dead time (s) after a change to each range, used when a file records none (facility 2025)."""


def energy_from_wavelength(wavelength_a: float) -> float:
    """Return the photon energy (keV) of ``wavelength_a`` (angstrom)."""
    return HC_KEV_A / wavelength_a


def q_from_ar(ar_deg, ar_center_deg: float, wavelength_a: float):
    """Return Q (1/A) at analyzer angle ``ar_deg``: ``4 pi sin((AR0 - AR)/2) / lambda``.

    Positive below the centre (the scan side). Arrays in, arrays out.
    """
    half = np.radians(ar_center_deg - np.asarray(ar_deg, dtype=float)) / 2
    return 4 * np.pi * np.sin(half) / wavelength_a


def ar_from_q(q, ar_center_deg: float, wavelength_a: float):
    """Return the analyzer angle (deg) where ``q`` is measured: the inverse of :func:`q_from_ar`."""
    s = np.asarray(q, dtype=float) * wavelength_a / (4 * np.pi)
    return ar_center_deg - np.degrees(2 * np.arcsin(s))


def q_width(width_deg: float, wavelength_a: float) -> float:
    """Return the Q width (1/A) of an angular width ``width_deg`` (e.g. the rocking-curve FWHM)."""
    return float(4 * np.pi * np.sin(np.radians(width_deg) / 2) / wavelength_a)


def slit_length(wavelength_a: float, upd_size_mm: float, sdd_mm: float) -> float:
    """Return the slit length dQl (1/A) = ``(2 pi / lambda) (UPDsize / 2) / SDD``."""
    return 2 * np.pi / wavelength_a * (upd_size_mm / 2) / sdd_mm


def rocking_curve(x, height: float, center: float, half_width: float, shape: float = 2.0):
    """Return the rocking-curve model (Pearson VII) at ``x``: tuning and reduction fit this.

    ``height (1 + ((x - center)/half_width)^2 (2^(1/shape) - 1))^-shape``: the
    full width at half maximum is ``2 half_width`` for every ``shape``;
    ``shape`` 2 is the Lorentzian squared of a perfect-crystal analyzer.
    """
    u = (np.asarray(x, dtype=float) - center) / half_width
    return height * (1.0 + u * u * (2.0 ** (1.0 / shape) - 1.0)) ** (-shape)


def range_and_validity(
    num_channels: int, gain, requested, channel, times=None, mask_times=MASK_TIMES
) -> tuple[np.ndarray, np.ndarray]:
    """Return the amplifier range and the validity of each multichannel-scaler channel.

    ``gain``, ``requested`` and ``channel`` are the change records (the
    facility's ``changes_DDPCA300_ampGain``, ``_ampReqGain`` and ``_mcsChan``):
    from ``channel[k]`` on the amplifier is in range ``gain[k]``, having been
    asked for ``requested[k]``. Records are taken in channel order; records
    with a non-finite value are ignored and channels beyond the scan clipped.
    ``times`` are the channels' counting times (s; None: no dead times, for
    a caller that needs only the ranges), ``mask_times`` the dead time after
    a change to each range (s).

    A channel is invalid while a requested change is not reached
    (``gain != requested``) and during the dead time after each change.
    Before the first record (and with no record at all) the range is that of
    the last record, as the facility's reduction fills it, and the channels
    are invalid: their range was not recorded. Facility and simulator files
    always record the start range at channel 0.
    """
    n = int(num_channels)
    columns = [np.asarray(a, dtype=float).ravel() for a in (gain, requested, channel)]
    m = min(c.size for c in columns)
    records = np.column_stack([c[:m] for c in columns])
    records = records[np.all(np.isfinite(records), axis=1)]
    records = records[np.argsort(records[:, 2], kind="stable")]
    gains, reqs = records[:, 0].astype(int), records[:, 1].astype(int)
    starts = np.clip(records[:, 2], 0, n).astype(int)
    ranges = np.full(n, gains[-1] if gains.size else 0, dtype=np.int32)
    valid = np.ones(n, dtype=bool)
    valid[: starts[0] if starts.size else n] = False
    for k, a in enumerate(starts):
        b = starts[k + 1] if k + 1 < len(starts) else n
        ranges[a:b] = gains[k]
        if gains[k] != reqs[k]:  # change requested, not reached yet
            valid[a:b] = False
    if times is None:
        return ranges, valid
    elapsed = np.concatenate([[0.0], np.cumsum(np.asarray(times, dtype=float)[:n])])
    dead = np.asarray(mask_times, dtype=float)
    for k, a in enumerate(starts):
        if a >= n or (k > 0 and gains[k] == gains[k - 1] and reqs[k] == reqs[k - 1]):
            continue
        r = int(np.clip(reqs[k], 0, len(dead) - 1))
        # channels whose start lies within the dead time after the change
        end = np.searchsorted(elapsed, elapsed[a] + dead[r], side="left")
        valid[a : max(end, a + 1)] = False
    return ranges, valid
