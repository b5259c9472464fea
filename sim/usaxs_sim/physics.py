"""Pure physics of the simulated USAXS/SAXS/WAXS instrument (no Channel Access).

Everything here follows ``docs/physics.md``; the reduction in
``usaxs_bluesky.reduction`` inverts the same formulas.  Units: energy keV,
wavelength angstrom, angles degrees (unless a name says ``_rad``), Q 1/angstrom,
intensity 1/cm, lengths mm, times s, currents A.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .samples import SampleModel

HC_KEV_A = 12.398419843  # lambda [A] = HC_KEV_A / E [keV]

#: FWHM of the analyzer rocking curve of the empty beam (2 arc seconds), degrees.
AR_FWHM_DEG = 2.0 / 3600.0
#: FWHM of the collimator (MR) rocking curve, degrees (wider than the analyzer's).
MR_FWHM_DEG = 3.0 / 3600.0

#: Nominal I0 count rate (counts/s) with full beam at I0 gain 1e8 V/A.
I0_RATE_NOMINAL = 1.0e6
I0_GAIN_REF = 1.0e8
#: Photocurrent (A) at the UPD at the peak of the blank rocking curve, full beam:
#: 1e5 counts/s in range 0, as the facility's blank (Air_1, 2025: 9.4e4 counts/s).
UPD_PEAK_CURRENT = 1.0e-4
#: I00 and TRD count rates relative to I0 (same gain).
I00_RELATIVE = 1.6
TRD_RELATIVE = 0.3
#: Dark rate of the I0/I00/TRD chains, counts/s.
ION_CHAMBER_DARK = 2.0

UPD_GAINS = (1e4, 1e6, 1e8, 1e10, 1e12)
UPD_BKG = (5.0, 5.0, 5.0, 1698.0, 170957.0)
UPD_VFC = 1.0e5
GAIN_U = 6000.0
GAIN_D = 850000.0
MASK_TIMES = (0.002, 0.002, 0.003, 0.02, 0.17)

#: Default absolute calibration constant K (`I_scaling`) of the area detectors.
AREA_DETECTOR_K = 1.0e-13


# --------------------------------------------------------------------- basics
def wavelength(energy_kev: float) -> float:
    """Wavelength (A) from energy (keV)."""
    return HC_KEV_A / energy_kev


def q_from_ar(ar_deg, ar_center_deg: float, wavelength_a: float):
    """Q (1/A) at analyzer angle AR: ``4 pi sin((ARcenter - AR)/2) / lambda``.

    Positive below the centre (the scan side), negative above it.
    """
    theta2 = np.radians(ar_center_deg - np.asarray(ar_deg, dtype=float))
    return 4 * np.pi * np.sin(theta2 / 2) / wavelength_a


def ar_from_q(q, ar_center_deg: float, wavelength_a: float):
    """Inverse of :func:`q_from_ar`: the AR angle (deg) where Q is measured."""
    s = np.asarray(q, dtype=float) * wavelength_a / (4 * np.pi)
    return ar_center_deg - np.degrees(2 * np.arcsin(s))


def slit_length(wavelength_a: float, upd_size_mm: float, sdd_mm: float) -> float:
    """Slit length dQl (1/A) = (2 pi / lambda) (UPDsize/2) / SDD."""
    return (2 * np.pi / wavelength_a) * (upd_size_mm / 2) / sdd_mm


def rocking_curve(d_deg, fwhm_deg: float = AR_FWHM_DEG):
    """Normalised rocking curve (peak 1): Lorentzian squared ``1/(1+(d/a)^2)^2``.

    ``a = fwhm / (2 sqrt(sqrt(2) - 1))`` so the full width at half maximum is
    ``fwhm_deg``; the wings fall as ``d^-4``.
    """
    a = fwhm_deg / (2 * math.sqrt(math.sqrt(2) - 1))
    x = np.asarray(d_deg, dtype=float) / a
    return 1.0 / (1.0 + x * x) ** 2


def plateau(x, center: float, width: float, edge: float):
    """Flat-top window of full width ``width`` with error-function edges ``edge``."""
    from scipy.special import erf

    x = np.asarray(x, dtype=float)
    return 0.5 * (erf((x - center + width / 2) / edge) - erf((x - center - width / 2) / edge))


def gaussian_peak(x, center: float, fwhm: float):
    """Gaussian of peak 1 and full width ``fwhm``."""
    sigma = fwhm / (2 * math.sqrt(2 * math.log(2)))
    x = np.asarray(x, dtype=float)
    return np.exp(-0.5 * ((x - center) / sigma) ** 2)


# -------------------------------------------------------------- sample models
def _sphere_form_factor(qr):
    """Normalised sphere form factor amplitude 3 (sin x - x cos x) / x^3."""
    qr = np.asarray(qr, dtype=float)
    out = np.ones_like(qr)
    big = qr > 1e-3
    x = qr[big]
    out[big] = 3 * (np.sin(x) - x * np.cos(x)) / x**3
    small = ~big
    out[small] = 1 - qr[small] ** 2 / 10
    return out


@lru_cache(maxsize=16)
def _schulz_grid(radius_a: float, polydispersity: float, n: int = 100):
    """Radii (A) and weights of a Schulz distribution (normalised number density)."""
    z = 1.0 / polydispersity**2 - 1.0
    r = np.linspace(radius_a * 1e-3, radius_a * (1 + 8 * polydispersity), n)
    logw = z * np.log(r / radius_a) - (z + 1) * r / radius_a
    w = np.exp(logw - logw.max())
    w /= np.trapezoid(w, r)
    return r, w


#: Low-Q cut-off of the ``B Q^-4`` power laws (1/A): ``B / (Q^2 + Qc^2)^2``.
POWER_LAW_QC = 2.0e-5


def _power_law(q, p):
    return p.get("porod_B", 0.0) / (q * q + POWER_LAW_QC**2) ** 2


#: radius points per oscillation period 2 pi / Q of the sphere form factor
#: (a coarser radius grid aliases the polydispersity average at high Q)
_POINTS_PER_PERIOD = 4


def _radius_points(q_max: float, radius_a: float, polydispersity: float) -> int:
    span = radius_a * (1 + 8 * polydispersity)
    n = _POINTS_PER_PERIOD * span * q_max / (2 * np.pi)
    return int(np.clip(np.ceil(n / 50) * 50, 100, 2000))


def _spheres(q, p):
    radius, pd = float(p["radius_A"]), float(p["polydispersity"])
    num = np.empty(len(q))
    for s0 in range(0, len(q), 4096):
        qc = q[s0 : s0 + 4096]
        r, w = _schulz_grid(radius, pd, _radius_points(float(qc.max(initial=0.0)), radius, pd))
        vol_cm3 = 4 / 3 * np.pi * (r * 1e-8) ** 3
        f2 = _sphere_form_factor(np.outer(qc, r)) ** 2  # (nq, nr)
        num[s0 : s0 + 4096] = np.trapezoid(w * vol_cm3**2 * f2, r, axis=1) / np.trapezoid(
            w * vol_cm3, r
        )
    i = p["volume_fraction"] * p["contrast_cm2"] ** 2 * num
    return i + _power_law(q, p) + p.get("background", 0.0)


def _glassy_carbon(q, p):
    i = p["A"] / (1 + (q * p["xi_A"]) ** 2) ** 2 + p["G"] * np.exp(-((q * p["Rg_A"]) ** 2) / 3)
    return i + _power_law(q, p) + p.get("background", 0.0)


def sample_intensity(q, model: SampleModel):
    """Absolute differential cross-section dSigma/dOmega(Q) (1/cm) of ``model``.

    Kinds: ``blank`` (0), ``spheres`` (Schulz polydisperse spheres plus
    ``B Q^-4``), ``glassy_carbon`` (``A/(1+(Q xi)^2)^2 + G exp(-Q^2 Rg^2/3)
    + B Q^-4``); the power laws are cut off below ``Qc`` as
    ``B / (Q^2 + Qc^2)^2`` (:data:`POWER_LAW_QC`).  ``q`` may be negative (uses ``|q|``).
    """
    q = np.abs(np.atleast_1d(np.asarray(q, dtype=float)))
    if model.kind == "blank":
        out = np.zeros_like(q)
    elif model.kind == "spheres":
        out = _spheres(q, model.params)
    elif model.kind == "glassy_carbon":
        out = _glassy_carbon(q, model.params)
    else:
        raise ValueError(f"unknown sample kind {model.kind!r}")
    return out


def _smeared_direct(q, model: SampleModel, dql: float, n: int = 240):
    """Direct quadrature of the slit smearing integral (used to build the cache)."""
    q = np.abs(np.atleast_1d(np.asarray(q, dtype=float)))
    # l grid dense near 0 (where I(sqrt(q^2+l^2)) changes fastest for small q)
    u = np.concatenate(([0.0], np.geomspace(1e-5, 1.0, n - 1)))
    ll = u * dql
    qq = np.sqrt(q[:, None] ** 2 + ll[None, :] ** 2)
    vals = sample_intensity(qq.ravel(), model).reshape(qq.shape)
    return np.trapezoid(vals, ll, axis=1) / dql


_SMEARED_CACHE: dict = {}


def _smeared_table(model: SampleModel, dql: float):
    key = (model.kind, tuple(sorted(model.params.items())), round(dql, 12))
    if key not in _SMEARED_CACHE:
        qg = np.geomspace(1e-6, 2.0, 300)
        _SMEARED_CACHE[key] = (qg, _smeared_direct(qg, model, dql))
    return _SMEARED_CACHE[key]


def smeared_intensity(q, model: SampleModel, dql: float):
    """Slit-smeared intensity ``(1/dQl) int_0^dQl I(sqrt(Q^2 + l^2)) dl`` (1/cm).

    Evaluated from a cached log-spaced table (interpolated in log-log).
    """
    q = np.abs(np.atleast_1d(np.asarray(q, dtype=float)))
    if model.kind == "blank":
        return np.zeros_like(q)
    qg, ig = _smeared_table(model, float(dql))
    qc = np.clip(q, qg[0], qg[-1])
    return np.exp(np.interp(np.log(qc), np.log(qg), np.log(np.maximum(ig, 1e-300))))


# ------------------------------------------------------------- USAXS signal
@dataclass
class UsaxsGeometry:
    """What the Bonse-Hart signal depends on (true values of the simulation)."""

    ar_center: float = 8.84576945
    ar_fwhm: float = AR_FWHM_DEG
    wavelength: float = HC_KEV_A / 21.0
    upd_size: float = 5.4
    sdd: float = 1085.0


def usaxs_ratio(ar_deg, model: SampleModel, geom: UsaxsGeometry):
    """Photodiode signal ratio R(AR)/R0 for ``model`` (blank: the rocking curve).

    ``T * [RC(d) + w_rad * (UPDsize/SDD) * t_cm * I_s(Q)]`` with
    ``d = AR - ARcenter``.
    """
    ar = np.asarray(ar_deg, dtype=float)
    d = ar - geom.ar_center
    rc = rocking_curve(d, geom.ar_fwhm)
    if model.kind == "blank" or model.thickness_mm <= 0:
        return model.transmission * rc
    q = q_from_ar(ar, geom.ar_center, geom.wavelength)
    dql = slit_length(geom.wavelength, geom.upd_size, geom.sdd)
    w_rad = math.radians(geom.ar_fwhm)
    t_cm = model.thickness_mm / 10.0
    i_s = smeared_intensity(q, model, dql).reshape(np.shape(q))
    return model.transmission * (rc + w_rad * (geom.upd_size / geom.sdd) * t_cm * i_s)


# ------------------------------------------------------- amplifier (UPD)
def autorange(
    current_a: float,
    previous: int,
    gains=UPD_GAINS,
    bkgs=UPD_BKG,
    vfc: float = UPD_VFC,
    gain_u: float = GAIN_U,
    gain_d: float = GAIN_D,
) -> int:
    """Range the autoranging amplifier settles in, starting from ``previous``.

    One step up in gain while the rate is below ``gain_u`` and one step down
    while it is above ``gain_d`` (hysteresis: a rate inside the window keeps
    the present range).
    """
    r = int(min(max(previous, 0), len(gains) - 1))
    for _ in range(2 * len(gains)):
        rate = current_a * gains[r] * vfc + bkgs[r]
        if rate > gain_d and r > 0:
            r -= 1
        elif rate < gain_u and r < len(gains) - 1:
            # do not step up into a range where it would immediately step down
            up = current_a * gains[r + 1] * vfc + bkgs[r + 1]
            if up > gain_d:
                break
            r += 1
        else:
            break
    return r


# ------------------------------------------------------------- fly scan
def ar_finish_from_q(ar_center: float, q_max: float, wavelength_a: float) -> float:
    """AR angle (deg) at which the fly scan ends for a maximum Q (1/A)."""
    return float(ar_from_q(q_max, ar_center, wavelength_a))


def _step_walk(start, ar_center, n, min_step, exponent, k):
    pos = np.empty(n)
    x = start
    for i in range(n):
        pos[i] = x
        x -= min_step + k * abs(x - ar_center) ** exponent
    return pos


def fly_pulse_positions(
    ar_start: float,
    ar_finish: float,
    ar_center: float,
    n: int = 8000,
    min_step: float = 2e-5,
    exponent: float = 0.7,
) -> np.ndarray:
    """Decreasing AR pulse positions (deg) from ``ar_start`` to ``ar_finish``.

    Step law (as the real trajectories): ``step(x) = min_step + k |x -
    ARcenter|^exponent``, with ``k >= 0`` solved so that the ``n``-th pulse
    lands on ``ar_finish``.  Fine steps near the centre, growing far from it.
    """
    if n < 2:
        return np.array([ar_start], dtype=float)
    if ar_finish >= ar_start:
        raise ValueError("fly scan must go down: ar_finish must be below ar_start")
    if (n - 1) * min_step >= ar_start - ar_finish:
        return np.linspace(ar_start, ar_finish, n)
    lo, hi = 0.0, 1.0
    while _step_walk(ar_start, ar_center, n, min_step, exponent, hi)[-1] > ar_finish:
        hi *= 2
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _step_walk(ar_start, ar_center, n, min_step, exponent, mid)[-1] > ar_finish:
            lo = mid
        else:
            hi = mid
    pos = _step_walk(ar_start, ar_center, n, min_step, exponent, 0.5 * (lo + hi))
    # remove the tiny bisection residual by a linear stretch about the start
    pos = ar_start + (pos - ar_start) * (ar_finish - ar_start) / (pos[-1] - ar_start)
    return pos


#: Fly-scan channel-time profile: ``1 / (1 + |d| / FLY_TIME_D0)^FLY_TIME_EXPONENT
#: + FLY_TIME_FLOOR`` (d = AR - ARcenter), normalised to the scan time.
FLY_TIME_D0_DEG = 2.0 / 3600.0
FLY_TIME_EXPONENT = 0.7
FLY_TIME_FLOOR = 0.065


def fly_channel_times(mid_positions, ar_center: float, scan_time: float) -> np.ndarray:
    """Counting time (s) of each fly-scan channel, summing to ``scan_time``.

    The trajectory slows down near the peak, as at the facility (Air_1,
    2025: about 0.08 s per channel within 2 arc seconds of the peak, 0.008 s
    far out): ``t ~ 1 / (1 + |d|/d0)^0.7 + floor`` with d0 = 2 arc seconds.
    """
    d = np.abs(np.asarray(mid_positions, dtype=float) - ar_center)
    w = 1.0 / (1.0 + d / FLY_TIME_D0_DEG) ** FLY_TIME_EXPONENT + FLY_TIME_FLOOR
    return scan_time * w / w.sum()


@dataclass
class FlyResult:
    """Per-channel arrays of one simulated fly scan (n_pulses - 1 channels)."""

    pulse_positions: np.ndarray
    clock: np.ndarray
    i0: np.ndarray
    upd: np.ndarray
    ranges: np.ndarray
    change_gain: np.ndarray
    change_req_gain: np.ndarray
    change_chan: np.ndarray
    channel_time: float


def simulate_fly_upd(
    currents,
    i0_rates,
    channel_time,
    rng: np.random.Generator,
    start_range: int = 2,
    gains=UPD_GAINS,
    bkgs=UPD_BKG,
    vfc: float = UPD_VFC,
    gain_u: float = GAIN_U,
    gain_d: float = GAIN_D,
    mask_times=MASK_TIMES,
):
    """Count the UPD through an autoranging amplifier channel by channel.

    ``channel_time`` (s) is one value for all channels or one per channel.
    Returns ``(upd_counts, ranges, changes)``; ``changes`` is a list of
    ``(gain, requested_gain, channel)`` rows as the facility records them: a
    first row for the start, then per change a row when it is requested (old
    range, new request) and a row when it is reached (next channel).
    Channels within the mask time after a change carry a settling transient
    (they are invalid, as at the real instrument).
    """
    n = len(currents)
    times = np.broadcast_to(np.asarray(channel_time, dtype=float), (n,))
    ranges = np.empty(n, dtype=int)
    upd = np.empty(n, dtype=np.int64)
    changes = [(start_range, start_range, 0)]
    r = start_range
    since_change = 1e9
    for k in range(n):
        i = currents[k]
        rate = i * gains[r] * vfc + bkgs[r]
        factor = 1.0
        if since_change < mask_times[r]:
            factor = 1.0 + 3.0 * math.exp(-5.0 * since_change / mask_times[r])
        expected = min(rate * factor, 2.0e7) * times[k]
        upd[k] = rng.poisson(expected)
        ranges[k] = r
        since_change += times[k]
        if (rate > gain_d and r > 0) or (rate < gain_u and r < len(gains) - 1):
            new = autorange(i, r, gains, bkgs, vfc, gain_u, gain_d)
            if new != r:
                changes.append((r, new, k))
                changes.append((new, new, min(k + 1, n - 1)))
                r = new
                since_change = 0.0
    del i0_rates
    return upd, ranges, changes


# ------------------------------------------------------- area detectors
def detector_q(shape, center_xy, pixel_mm, distance_mm, wavelength_a):
    """Q (1/A) and solid angle (sr) of each pixel of a flat detector normal to the beam.

    ``shape`` is (rows, cols); ``center_xy`` = (x0 column, y0 row) in pixels.
    ``2theta = atan(r / L)``, ``Omega = p^2 cos^3(2theta) / L^2``.
    """
    rows, cols = shape
    x0, y0 = center_xy
    jj, ii = np.meshgrid(np.arange(cols, dtype=float), np.arange(rows, dtype=float))
    r_mm = pixel_mm * np.hypot(jj - x0, ii - y0)
    two_theta = np.arctan2(r_mm, distance_mm)
    q = 4 * np.pi * np.sin(two_theta / 2) / wavelength_a
    omega = pixel_mm**2 * np.cos(two_theta) ** 3 / distance_mm**2
    return q, omega, r_mm / pixel_mm


def area_detector_expected(
    model: SampleModel,
    shape,
    center_xy,
    pixel_mm: float,
    distance_mm: float,
    wavelength_a: float,
    i0_counts: float,
    i0_gain: float = I0_GAIN_REF,
    k_scaling: float = AREA_DETECTOR_K,
    beamstop_radius_px: float = 8.0,
    dark_counts: float = 0.05,
):
    """Expected counts per pixel for one exposure (before Poisson noise).

    ``counts = (I0 / I0_gain) * T * t_cm * I(q) * Omega / K`` inside the
    detector, zero behind the beam stop, plus ``dark_counts`` everywhere.
    ``I0`` are the I0 counts of the exposure, ``K`` the ``I_scaling`` PV.
    """
    q, omega, r_px = detector_q(shape, center_xy, pixel_mm, distance_mm, wavelength_a)
    t_cm = model.thickness_mm / 10.0
    if model.kind == "blank" or t_cm <= 0:
        signal = np.zeros(shape)
    else:
        qg = np.geomspace(max(q.min(), 1e-5), max(q.max(), 2e-5), 2000)
        iq = np.interp(q, qg, sample_intensity(qg, model))
        signal = (i0_counts / i0_gain) * model.transmission * t_cm * iq * omega / k_scaling
    signal = np.where(r_px < beamstop_radius_px, 0.0, signal)
    return signal + dark_counts
