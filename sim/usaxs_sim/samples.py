"""Table of simulated samples, chosen by the sample stage position (sx, sy).

Each entry is a :class:`SampleModel`: a scattering law (``kind`` plus its
parameters), the true thickness and the transmission.  The sample stage
(``usxAERO:m8`` = sx, ``usxAERO:m9`` = sy) selects the model: the first entry
whose centre is within ``radius_mm`` of (sx, sy) wins; anywhere else the beam
goes through air (:data:`AIR`, no scattering, T = 1).

| name            | kind          | sx, sy (mm) | thickness (mm) | T    |
|-----------------|---------------|-------------|----------------|------|
| blank           | blank         | 0, 0        | 0.0            | 1.00 |
| spheres         | spheres       | 20, 0       | 1.0            | 0.85 |
| glassy_carbon   | glassy_carbon | 40, 0       | 1.055          | 0.78 |
| (anything else) | blank ("air") | -           | 0.0            | 1.00 |
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SampleModel:
    """One simulated sample.

    Attributes
    ----------
    name : str
        Short name, shown by ``usxSIM:sample_model``.
    kind : str
        ``"blank"``, ``"spheres"`` or ``"glassy_carbon"`` (see
        :func:`usaxs_sim.physics.sample_intensity`).
    x_mm, y_mm, radius_mm : float
        Position of the sample on the sample stage and the capture radius.
    thickness_mm : float
        True thickness (the simulator uses it; users should type the same
        value into ``usxLAX:sampleThickness``).
    transmission : float
        X-ray transmission (0..1].
    params : dict
        Parameters of the scattering law.
    """

    name: str
    kind: str
    x_mm: float = 0.0
    y_mm: float = 0.0
    radius_mm: float = 2.0
    thickness_mm: float = 0.0
    transmission: float = 1.0
    params: dict = field(default_factory=dict)

    def describe(self) -> str:
        """Short one-line description (fits a 40-character EPICS string)."""
        return f"{self.name} T={self.transmission:.3f} t={self.thickness_mm:g}mm"[:39]


AIR = SampleModel(name="air", kind="blank")

BLANK = SampleModel(name="blank", kind="blank", x_mm=0.0, y_mm=0.0, radius_mm=2.0)

SPHERES = SampleModel(
    name="spheres",
    kind="spheres",
    x_mm=20.0,
    y_mm=0.0,
    radius_mm=2.0,
    thickness_mm=1.0,
    transmission=0.85,
    params={
        "radius_A": 600.0,  # mean radius, angstrom
        "polydispersity": 0.25,  # Schulz sigma / mean
        "volume_fraction": 0.01,
        "contrast_cm2": 5.0e10,  # delta rho, 1/cm^2
        "porod_B": 1.0e-10,  # power law B * Q^-4, 1/cm * A^-4
        "background": 0.0,  # flat, 1/cm
    },
)

GLASSY_CARBON = SampleModel(
    name="glassy_carbon",
    kind="glassy_carbon",
    x_mm=40.0,
    y_mm=0.0,
    radius_mm=2.0,
    thickness_mm=1.055,
    transmission=0.78,
    params={
        # A / (1 + (Q xi)^2)^2 + G exp(-Q^2 Rg^2 / 3) + B Q^-4 (+ background)
        # close to NIST SRM 3600 (35, 29, 24, 4.5 1/cm at 0.008, 0.03, 0.1, 0.25 1/A)
        "A": 33.5,
        "xi_A": 5.17,
        "G": 5.37,
        "Rg_A": 237.0,
        "porod_B": 1.0e-11,
        "background": 0.0,
    },
)

SAMPLES: tuple[SampleModel, ...] = (BLANK, SPHERES, GLASSY_CARBON)


def model_at(sx: float, sy: float, samples=SAMPLES) -> SampleModel:
    """Return the sample model in the beam with the sample stage at (sx, sy) mm."""
    for model in samples:
        if (sx - model.x_mm) ** 2 + (sy - model.y_mm) ** 2 <= model.radius_mm**2:
            return model
    return AIR


def by_name(name: str, samples=SAMPLES) -> SampleModel:
    """Return the sample model called ``name`` (``"air"`` included)."""
    for model in (*samples, AIR):
        if model.name == name:
            return model
    raise KeyError(f"no sample model {name!r}; known: {[m.name for m in (*samples, AIR)]}")
