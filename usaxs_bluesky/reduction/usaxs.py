"""USAXS reduction: R(AR) -> R(Q) -> calibrated slit-smeared I(Q) -> desmeared I(Q).

Formulas follow docs/physics.md (Indra's absolute calibration):

* ``R = ((UPD - t * bkg_r) / g_r) / (I0 / I0_gain)`` (counts over counts: t cancels)
* ``Q = 4 pi sin((ar0 - AR) / 2) / lambda`` with ar0 the fitted peak centre
* ``T = peak(R_sample) / peak(R_blank)``
* ``I_s(Q) = (R_s / T - R_b(Q)) / (R0 * w_rad * (UPDsize / SDD) * t_cm * M)`` with the
  multiple-scattering correction ``M = T_pin / T`` when the pin-diode
  transmission ``T_pin`` is recorded (else M = 1, said in the metadata)
* ``dQl = (2 pi / lambda) * (UPDsize / 2) / SDD``
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..contract.geometry import q_from_ar, q_width, rocking_curve, slit_length
from .common import ReducedCurve, ReductionError
from .usaxs_raw import SATURATED_DARK_RATE, UsaxsRaw

__all__ = [
    "PeakFit",
    "RCurve",
    "absolute_usaxs",
    "compute_r",
    "desmear",
    "fit_peak",
    "log_rebin",
    "msaxs_correction",
    "pin_transmission",
    "r_of_q",
    "smear",
    "smearing_matrix",
]

DEG = np.pi / 180.0


@dataclass
class PeakFit:
    """Rocking-curve peak: centre (deg), FWHM (deg), height (R units)."""

    center: float
    fwhm: float
    height: float
    shape: float  # Pearson VII exponent (2 = Lorentzian squared)


@dataclass
class RCurve:
    """Normalised photodiode signal R versus analyzer angle (valid points only)."""

    ar: np.ndarray
    r: np.ndarray
    rdev: np.ndarray
    raw: UsaxsRaw


def compute_r(raw: UsaxsRaw) -> RCurve:
    """Gain/dark corrected UPD counts over gain-corrected I0 counts (invalid points dropped).

    ``R = ((UPD - t bkg_r) / g_r) / (I0 / I0_gain)``: both counts come from the
    same counting time t, which cancels, so R does not depend on how long each
    point (fly-scan channel, step-scan point) was counted.
    """
    rng = raw.upd_range
    g = raw.gains[rng]
    bkg = raw.bkg[rng]
    t = raw.time
    ok = raw.valid & (t > 0) & (raw.i0 > 0) & np.isfinite(raw.upd)
    monitor = raw.i0 / raw.i0_gain
    with np.errstate(divide="ignore", invalid="ignore"):
        upd_rel = (raw.upd - t * bkg) / g
        r = upd_rel / monitor
        # Poisson on UPD and I0 counts, plus the dark-rate uncertainty
        var_upd = np.maximum(raw.upd, 1.0) + (t * raw.bkg_err[rng]) ** 2
        rdev = np.sqrt(var_upd) / g / monitor
        rdev = np.sqrt(rdev**2 + (r / np.sqrt(np.maximum(raw.i0, 1.0))) ** 2)
    ok &= np.isfinite(r) & np.isfinite(rdev)
    if ok.sum() < 10:
        raise ReductionError(f"{raw.path}: fewer than 10 valid USAXS points")
    return RCurve(ar=raw.ar[ok], r=r[ok], rdev=rdev[ok], raw=raw)


def least_squares_fit(
    func, x: np.ndarray, y: np.ndarray, p0: list[float], lower: list[float], upper: list[float],
    *, max_iter: int = 500, tol: float = 1e-12,
) -> np.ndarray:  # fmt: skip
    """Bounded Levenberg-Marquardt: parameters minimising sum((func(x, *p) - y)^2).

    numpy only (scipy.optimize costs seconds of import for every ``usaxs``
    command). Forward-difference Jacobian, parameters clipped to the bounds;
    every accepted step lowers the sum of squares. Stops when a step changes
    it by less than ``tol`` (relative) and moves the parameters by less than
    ``sqrt(tol)`` (relative), or after ``max_iter`` steps (the best so far).
    """
    p = np.clip(np.asarray(p0, dtype=float), lower, upper)
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    r = func(x, *p) - y
    cost = float(r @ r)
    damping = 1e-3
    for _ in range(max_iter):
        h = 1e-7 * np.maximum(np.abs(p), 1.0)
        jac = np.empty((len(x), len(p)))
        for k in range(len(p)):
            dp = p.copy()
            dp[k] += h[k]
            jac[:, k] = (func(x, *dp) - y - r) / h[k]
        jtj, jtr = jac.T @ jac, jac.T @ r
        while True:
            step = np.linalg.solve(jtj + damping * np.diag(np.diag(jtj) + 1e-300), -jtr)
            trial = np.clip(p + step, lo, hi)
            rt = func(x, *trial) - y
            new = float(rt @ rt)
            if np.isfinite(new) and new <= cost:
                break
            damping *= 10.0
            if damping > 1e12:
                return p
        converged = cost - new <= tol * max(cost, 1e-300) and np.linalg.norm(trial - p) <= np.sqrt(
            tol
        ) * (np.sqrt(tol) + np.linalg.norm(p))
        p, r, cost = trial, rt, new
        damping = max(damping / 10.0, 1e-12)
        if converged:
            return p
    return p


def fit_peak(ar: np.ndarray, r: np.ndarray, fraction: float = 0.4) -> PeakFit:
    """Fit a Pearson VII profile to the top of the rocking curve.

    Points above ``fraction`` of the maximum (contiguous around it) are used.
    The profile ``a (1 + ((x - x0)/hw)^2 (2^(1/m) - 1))^-m`` has FWHM = 2 hw
    exactly; m = 2 is the Lorentzian squared of the simulator.
    """
    good = np.isfinite(r)
    ar, r = ar[good], r[good]
    if len(r) < 5:
        raise ReductionError("rocking curve has fewer than 5 points")
    imax = int(np.argmax(r))
    top = r >= fraction * r[imax]
    lo = imax
    while lo > 0 and top[lo - 1]:
        lo -= 1
    hi = imax
    while hi < len(r) - 1 and top[hi + 1]:
        hi += 1
    x, y = ar[lo : hi + 1], r[lo : hi + 1]
    half = np.abs(x[y >= 0.5 * r[imax]] - ar[imax])
    hw0 = max(float(half.max()) if half.size else 0.0, float(np.abs(np.diff(ar)).min()), 1e-7)
    if len(x) < 5:
        return PeakFit(center=float(ar[imax]), fwhm=2 * hw0, height=float(r[imax]), shape=2.0)
    # fit in units of the half width around the maximum: all parameters O(1)
    scale_y = float(r[imax])
    u = (x - ar[imax]) / hw0
    q = least_squares_fit(
        rocking_curve,
        u,
        y / scale_y,
        [1.0, 0.0, 1.0, 2.0],
        [0.0, float(u.min()), 1 / 20, 0.6],
        [np.inf, float(u.max()), 20.0, 50.0],
    )
    popt = [q[0] * scale_y, ar[imax] + q[1] * hw0, q[2] * hw0, q[3]]
    return PeakFit(
        center=float(popt[1]), fwhm=float(2 * popt[2]), height=float(popt[0]), shape=float(popt[3])
    )


def r_of_q(rc: RCurve, peak: PeakFit | None = None) -> tuple[np.ndarray, PeakFit]:
    """Q of every point of ``rc`` (relative to the fitted peak centre)."""
    peak = peak or fit_peak(rc.ar, rc.r)
    return q_from_ar(rc.ar, peak.center, rc.raw.wavelength), peak


#: keys of the pin-diode transmission measurement in ``UsaxsRaw.metadata``
PIN_KEYS = ("trans_pin_counts", "trans_pin_gain", "trans_I0_counts", "trans_I0_gain")
MSAXS_METHOD = (
    "MSAXSCorrection = T_pin / T_peak (Indra, Matilda): pin-diode transmission "
    "(sample/blank, each (trans_pin_counts/trans_pin_gain)/(trans_I0_counts/trans_I0_gain)) "
    "over the rocking-curve peak-height ratio; calibrated intensity divided by it"
)


def _pin_ratio(raw: UsaxsRaw) -> tuple[float | None, str]:
    """``(pin/pin_gain)/(I0/I0_gain)`` of one file, or (None, why it is not usable)."""
    m = raw.metadata
    if m.get("measure_trans_pin", 1) == 0:
        return None, f"{raw.path.name}: pin-diode transmission not measured (measure_trans_pin=0)"
    missing = [k for k in PIN_KEYS if k not in m]
    if missing:
        return None, f"{raw.path.name}: pin-diode transmission not recorded ({', '.join(missing)})"
    vals = [float(m[k]) for k in PIN_KEYS]
    if not all(np.isfinite(v) and v > 0 for v in vals):
        return None, f"{raw.path.name}: pin-diode transmission counts/gains not positive {vals}"
    pin, pin_gain, i0, i0_gain = vals
    return (pin / pin_gain) / (i0 / i0_gain), ""


def pin_transmission(sample: UsaxsRaw, blank: UsaxsRaw) -> tuple[float | None, str]:
    """Pin-diode transmission sample/blank, or (None, why not) when either did not record it."""
    rs, why_s = _pin_ratio(sample)
    rb, why_b = _pin_ratio(blank)
    if rs is None or rb is None:
        return None, why_s or why_b
    return float(rs / rb), ""


def msaxs_correction(t_pin: float | None, t_peak: float) -> float | None:
    """MSAXSCorrection = T_pin / T_peak (None without a pin-diode transmission)."""
    if t_pin is None or not (t_peak > 0 and np.isfinite(t_pin) and t_pin > 0):
        return None
    return float(t_pin / t_peak)


# --------------------------------------------------------------------------- rebinning


def log_rebin(
    q: np.ndarray,
    y: np.ndarray,
    dy: np.ndarray,
    qmin: float,
    qmax: float,
    npoints: int = 250,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Inverse-variance average into log-spaced bins; returns q, y, dy, bin width.

    Empty bins are dropped. dy of a bin is the larger of the propagated error
    and the standard error of the scatter inside the bin.
    """
    edges = np.geomspace(qmin, qmax, npoints + 1)
    sel = (q >= qmin) & (q <= qmax) & np.isfinite(y) & (dy > 0)
    q, y, dy = q[sel], y[sel], dy[sel]
    idx = np.clip(np.searchsorted(edges, q, side="right") - 1, 0, npoints - 1)
    w = 1.0 / dy**2
    sw = np.bincount(idx, w, npoints)
    n = np.bincount(idx, None, npoints)
    keep = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ym = np.bincount(idx, w * y, npoints) / sw
        qm = np.bincount(idx, w * q, npoints) / sw
        err = 1.0 / np.sqrt(sw)
        scatter = np.bincount(idx, w * (y - ym[idx]) ** 2, npoints) / sw
        sem = np.sqrt(scatter / np.maximum(n - 1, 1))
    err = np.where(n > 1, np.maximum(err, sem), err)
    width = edges[1:] - edges[:-1]
    return qm[keep], ym[keep], err[keep], width[keep]


# ----------------------------------------------------------------------- calibration


def absolute_usaxs(
    sample: UsaxsRaw,
    blank: UsaxsRaw,
    *,
    npoints: int = 250,
    qmin: float | None = None,
    qmax: float | None = None,
    min_contrast: float = 0.05,
    desmear_data: bool = True,
) -> tuple[ReducedCurve, ReducedCurve | None]:
    """Blank-subtracted, absolutely calibrated USAXS curve (smeared, desmeared).

    Qmin (unless given) is the larger of 1.5 blank FWHM (in Q) and the first Q
    above which the sample exceeds the transmission-scaled blank by
    ``min_contrast`` (relative) in three consecutive points.
    """
    if sample.thickness_mm is None or not sample.thickness_mm > 0:
        raise ReductionError(
            f"{sample.path}: sample thickness is missing or not positive "
            f"({sample.thickness_mm!r} mm); absolute calibration needs it"
        )
    rel = abs(sample.wavelength - blank.wavelength) / sample.wavelength
    if rel > 1e-3:
        raise ReductionError(
            f"{sample.path}: blank {blank.path} was measured at another energy "
            f"({blank.energy:.4f} keV vs {sample.energy:.4f} keV, {rel:.2%} > 0.1%)"
        )
    sample, substituted = _repair_dark(sample, blank)
    rs, rb = compute_r(sample), compute_r(blank)
    qs, ps = r_of_q(rs)
    qb, pb = r_of_q(rb)
    transmission = ps.height / pb.height
    t_pin, no_pin = pin_transmission(sample, blank)
    msaxs = msaxs_correction(t_pin, transmission)
    t_cm = sample.thickness_mm / 10.0
    w_rad = pb.fwhm * DEG
    omega = w_rad * blank.upd_size / blank.sdd
    kfactor = pb.height * omega * t_cm
    scale = kfactor * (msaxs if msaxs is not None else 1.0)

    # blank on the sample's Q grid (log interpolation; errors linear)
    order = np.argsort(qb)
    qb_s, rb_s, db_s = qb[order], rb.r[order], rb.rdev[order]
    pos = rb_s > 0
    rb_i = np.exp(np.interp(qs, qb_s[pos], np.log(rb_s[pos])))
    db_i = np.interp(qs, qb_s, db_s)
    diff = rs.r / transmission - rb_i
    ddev = np.sqrt((rs.rdev / transmission) ** 2 + db_i**2)
    inten = diff / scale
    idev = ddev / scale

    q_fwhm = q_width(pb.fwhm, sample.wavelength)
    if qmin is None:
        qmin = 1.5 * q_fwhm
        srt = np.argsort(qs)
        contrast = (rs.r[srt] / transmission) / np.maximum(rb_i[srt], 1e-300) - 1.0
        above = (contrast > min_contrast) & (qs[srt] > 0)
        run = above[:-2] & above[1:-1] & above[2:]
        first = np.argmax(run) if run.any() else None
        if first is not None:
            qmin = max(qmin, float(qs[srt][first]))
    if qmax is None:
        qmax = float(np.max(qs))
    valid = (qs >= qmin) & (qs <= qmax) & np.isfinite(inten)
    if valid.sum() < 20:
        raise ReductionError(f"{sample.path}: fewer than 20 points above Qmin={qmin:.3g} 1/A")
    qv, iv, dv, width = log_rebin(qs[valid], inten[valid], idev[valid], qmin, qmax, npoints)
    positive = iv > 0
    qv, iv, dv, width = qv[positive], iv[positive], dv[positive], width[positive]
    dql = slit_length(sample.wavelength, sample.upd_size, sample.sdd)
    # width resolution: rocking-curve FWHM (as sigma) and bin width, in quadrature
    dqw = np.sqrt((q_fwhm / 2.3548) ** 2 + (width / np.sqrt(12.0)) ** 2)
    meta = _usaxs_metadata(sample, blank, ps, pb, transmission, t_pin, kfactor, omega, qmin, dql)
    meta.update(
        msaxs_correction=msaxs,
        msaxs_method=MSAXS_METHOD if msaxs is not None else f"not applied: {no_pin}",
    )
    if substituted:
        meta["dark_rate_substituted_from_blank"] = substituted
    smeared = ReducedCurve(q=qv, i=iv, idev=dv, qdev=dqw, dql=dql, smeared=True, metadata=meta)
    desmeared = desmear(smeared) if desmear_data else None
    return smeared, desmeared


def _repair_dark(sample: UsaxsRaw, blank: UsaxsRaw) -> tuple[UsaxsRaw, dict[int, float]]:
    """Replace saturated dark rates of the sample by the blank's (same session).

    A dark reading >= SATURATED_DARK_RATE counts/s is an amplifier overflow, not
    a dark current; the blank's value for that range is used instead and the
    substitution is recorded in the metadata.
    """
    bad = [r for r in range(5) if sample.bkg[r] >= SATURATED_DARK_RATE]
    good = [r for r in bad if blank.bkg[r] < SATURATED_DARK_RATE]
    if not good:
        return sample, {}
    bkg = sample.bkg.copy()
    bkg_err = sample.bkg_err.copy()
    for r in good:
        bkg[r], bkg_err[r] = blank.bkg[r], blank.bkg_err[r]
    return replace(sample, bkg=bkg, bkg_err=bkg_err), {r: float(blank.bkg[r]) for r in good}


def _usaxs_metadata(
    sample: UsaxsRaw,
    blank: UsaxsRaw,
    ps: PeakFit,
    pb: PeakFit,
    transmission: float,
    t_pin: float | None,
    kfactor: float,
    omega: float,
    qmin: float,
    dql: float,
) -> dict:
    return {
        "technique": "USAXS",
        "plan": sample.plan,
        "absolute": True,
        "sample_name": sample.sample_name,
        "thickness_mm": sample.thickness_mm,
        "transmission": transmission,
        "transmission_method": "rocking-curve peak ratio sample/blank",
        "transmission_pin_diode": t_pin,
        "wavelength_A": sample.wavelength,
        "energy_keV": sample.energy,
        "sample_file": str(sample.path),
        "blank_file": str(blank.path),
        "sample_peak_center_deg": ps.center,
        "sample_peak_fwhm_deg": ps.fwhm,
        "sample_peak_height": ps.height,
        "blank_peak_center_deg": pb.center,
        "blank_peak_fwhm_deg": pb.fwhm,
        "blank_peak_height": pb.height,
        "kfactor": kfactor,
        "omega_sr": omega,
        "qmin_A": qmin,
        "slit_length_A": dql,
        "upd_size_mm": sample.upd_size,
        "sdd_mm": sample.sdd,
        "timestamp": sample.timestamp,
    }


def uncalibrated_usaxs(raw: UsaxsRaw, npoints: int = 250) -> ReducedCurve:
    """R(Q) without blank: normalised to the peak height (arbitrary units)."""
    bad = raw.bkg >= SATURATED_DARK_RATE
    if bad.any():
        raw = replace(raw, valid=raw.valid & ~bad[raw.upd_range])
    rc = compute_r(raw)
    q, peak = r_of_q(rc)
    q_fwhm = q_width(peak.fwhm, raw.wavelength)
    qmin = 1.5 * q_fwhm
    qv, rv, dv, width = log_rebin(
        q, rc.r / peak.height, rc.rdev / peak.height, qmin, q.max(), npoints
    )
    pos = rv > 0
    dqw = np.sqrt((q_fwhm / 2.3548) ** 2 + (width / np.sqrt(12.0)) ** 2)
    meta = {
        "technique": "USAXS",
        "plan": raw.plan,
        "absolute": False,
        "sample_name": raw.sample_name,
        "thickness_mm": raw.thickness_mm,
        "wavelength_A": raw.wavelength,
        "energy_keV": raw.energy,
        "sample_file": str(raw.path),
        "blank_file": "",
        "sample_peak_center_deg": peak.center,
        "sample_peak_fwhm_deg": peak.fwhm,
        "sample_peak_height": peak.height,
        "qmin_A": qmin,
        "timestamp": raw.timestamp,
        "units_note": "R/R_peak, not calibrated (no blank)",
        "msaxs_correction": None,
        "msaxs_method": "not applied: no blank, not calibrated",
    }
    dql = slit_length(raw.wavelength, raw.upd_size, raw.sdd)
    meta["slit_length_A"] = dql
    return ReducedCurve(
        q=qv[pos], i=rv[pos], idev=dv[pos], qdev=dqw[pos], dql=dql, smeared=True, metadata=meta
    )


# ------------------------------------------------------------------------ desmearing


def smearing_matrix(q: np.ndarray, q_ext: np.ndarray, dql: float, nl: int = 240) -> np.ndarray:
    """Linear operator W with ``I_s(q_i) = sum_j W_ij I(q_ext_j)``.

    ``I_s(q) = (1/dQl) int_0^dQl I(sqrt(q^2 + l^2)) dl`` with I linear in q
    between nodes of ``q_ext`` (which must extend to sqrt(q_max^2 + dQl^2)).
    The l integral uses a grid dense near l = 0 on the scale of q.
    """
    nq, ne = len(q), len(q_ext)
    w = np.zeros((nq, ne))
    for i, qi in enumerate(q):
        scale = max(qi, q_ext[0]) * 1e-2
        lg = np.concatenate([[0.0], np.geomspace(min(scale, dql / nl), dql, nl)])
        wt = np.zeros_like(lg)  # trapezoid weights
        dl = np.diff(lg)
        wt[:-1] += dl / 2
        wt[1:] += dl / 2
        wt /= dql
        u = np.sqrt(qi**2 + lg**2)
        j = np.clip(np.searchsorted(q_ext, u, side="right") - 1, 0, ne - 2)
        frac = np.clip((u - q_ext[j]) / (q_ext[j + 1] - q_ext[j]), 0.0, 1.0)
        np.add.at(w[i], j, wt * (1 - frac))
        np.add.at(w[i], j + 1, wt * frac)
    return w


def _extend_grid(q: np.ndarray, dql: float) -> np.ndarray:
    qtop = np.sqrt(q[-1] ** 2 + dql**2) * 1.001
    if qtop <= q[-1]:
        return q.copy()
    step = np.log(q[-1] / q[-2]) if len(q) > 1 else 0.01
    n_ext = max(int(np.ceil(np.log(qtop / q[-1]) / max(step, 1e-3))), 2)
    return np.concatenate([q, q[-1] * np.exp(step * np.arange(1, n_ext + 1))])


def _powerlaw_tail(q: np.ndarray, i: np.ndarray, q_new: np.ndarray, nfit: int) -> np.ndarray:
    """Extrapolate I beyond q[-1] with a power law fitted to the last nfit points."""
    qs, ys = q[-nfit:], i[-nfit:]
    pos = ys > 0
    if pos.sum() >= 3:
        slope, icpt = np.polyfit(np.log(qs[pos]), np.log(ys[pos]), 1)
        slope = min(slope, -1.0)  # a tail must fall; keep the integral finite
        return np.exp(icpt) * q_new**slope
    return np.full_like(q_new, max(float(i[-1]), 0.0))


def smear(
    q: np.ndarray, model: np.ndarray, dql: float, q_ext: np.ndarray | None = None
) -> np.ndarray:
    """Slit-smear ``model`` (given on q, power-law extended) with slit length dql."""
    q_ext = _extend_grid(q, dql) if q_ext is None else q_ext
    ext = _powerlaw_tail(q, model, q_ext[len(q) :], max(5, len(q) // 10))
    return smearing_matrix(q, q_ext, dql) @ np.concatenate([model, ext])


def desmear(
    curve: ReducedCurve,
    *,
    max_iter: int = 60,
    chi2_target: float = 1.0,
    tail_fraction: float = 0.1,
) -> ReducedCurve:
    """Desmear slit-smeared data with Lake's iterative method.

    Iteration ``I_{n+1} = I_n * I_obs / S[I_n]`` (multiplicative form; the
    additive ``I_n + (I_obs - S[I_n])`` is used where values are not positive),
    with S the smearing operator and a power-law extrapolation of the current
    estimate beyond Q_max (refitted every iteration). Stops when the reduced
    chi^2 between S[I_n] and the data drops below ``chi2_target`` or after
    ``max_iter`` iterations. Uncertainties scale with I_dsm / I_smr.
    """
    if curve.dql is None or not curve.smeared:
        raise ReductionError("desmear needs slit-smeared data with a slit length")
    q, obs, err = curve.q, curve.i, curve.idev
    q_ext = _extend_grid(q, curve.dql)
    w = smearing_matrix(q, q_ext, curve.dql)
    nfit = max(5, int(len(q) * tail_fraction))
    est = obs.copy()
    chi2 = np.inf
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007
        full = np.concatenate([est, _powerlaw_tail(q, est, q_ext[len(q) :], nfit)])
        sm = w @ full
        chi2 = float(np.mean(((obs - sm) / err) ** 2))
        if chi2 < chi2_target:
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = obs / sm
        mult = (est > 0) & (obs > 0) & (sm > 0) & np.isfinite(ratio)
        est = np.where(mult, est * ratio, est + (obs - sm))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(obs != 0, np.abs(est / obs), 1.0)
    meta = dict(curve.metadata)
    meta.update(
        desmearing="Lake iterative (multiplicative), power-law extrapolation",
        desmear_iterations=iterations,
        desmear_chi2=chi2,
        slit_length_A=curve.dql,
    )
    return ReducedCurve(
        q=q.copy(),
        i=est,
        idev=err * scale,
        qdev=curve.qdev.copy(),
        dql=None,
        smeared=False,
        metadata=meta,
    )
