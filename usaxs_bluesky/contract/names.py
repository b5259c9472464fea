"""Names the NeXus writers rely on: plan names, stream names, data keys and facility names.

Data keys are those of the plans' descriptors (``describe()`` of the devices in
``instrument.py``); facility names are those of the real files written at
12-ID-E (``testdata/facility``), which the facility's reading code expects.
A mapping ``{facility name: data key}`` is applied where the key is present;
keys that a run does not have are skipped (never invented).
"""

from __future__ import annotations

from .geometry import UPD_RANGES

# --------------------------------------------------------------------------- runs
#: ``plan_name`` of the runs (the writer picks the file layout by it)
PLAN_FLY = "Flyscan"
PLAN_STEP = "uascan"
PLAN_SAXS = "SAXS"
PLAN_WAXS = "WAXS"
#: the plans a user calls for a sample (command files, queue); their runs carry the names above
USAXS_SCAN = "USAXSscan"
SAXS_EXP = "saxsExp"
WAXS_EXP = "waxsExp"
#: ``plan_name`` values (ours and older facility files) that mark a USAXS step scan
STEP_PLAN_NAMES = (PLAN_STEP, USAXS_SCAN, "step_scan")

PRIMARY = "primary"
BASELINE = "baseline"

# start-document keys
PLAN_NAME = "plan_name"
PLAN_ARGS = "plan_args"
HDF5_PATH = "hdf5_path"
HDF5_FILE = "hdf5_file"
ORDER_NUMBER = "order_number"
TECHNIQUE = "technique"
TITLE = "title"
USER_NAME = "user_name"
THICKNESS_MM = "sample_thickness_mm"
IS_BLANK = "is_blank"
#: start keys every run must have (the metadata policy checks them)
REQUIRED_KEYS = (TITLE, THICKNESS_MM, USER_NAME)

#: metadata request item types that are quantities (need units; PVs read as numbers)
QUANTITY_TYPES = ("float", "int")

#: file endings of NeXus/HDF5 data files (raw files found on disk or in the catalog)
NEXUS_SUFFIXES = (".h5", ".hdf", ".hdf5", ".nxs")

# --------------------------------------------------------------------------- fly scan
FLY_AR = "flyscan_ar"
FLY_CLOCK = "flyscan_clock"
FLY_I0 = "flyscan_I0"
FLY_UPD = "flyscan_UPD"
FLY_UPD_RANGE = "flyscan_upd_range"
FLY_PULSE_POSITION = "flyscan_pulse_position"
FLY_CHANGE_CHANNEL = "flyscan_change_channel"
FLY_CHANGE_RANGE = "flyscan_change_range"
FLY_CHANGE_REQUESTED = "flyscan_change_requested"
FLY_AMPLIFIER = "DDPCA300"

#: ``/entry/flyScan`` datasets: facility name -> data key (columns of the fly streams)
FLY_COLUMNS = {
    "mca1": FLY_CLOCK,
    "mca2": FLY_I0,
    "mca3": FLY_UPD,
    "AR_angles": FLY_AR,
    "upd_range": FLY_UPD_RANGE,
    "AR_PulsePositions": FLY_PULSE_POSITION,
    f"changes_{FLY_AMPLIFIER}_mcsChan": FLY_CHANGE_CHANNEL,
    f"changes_{FLY_AMPLIFIER}_ampGain": FLY_CHANGE_RANGE,
    f"changes_{FLY_AMPLIFIER}_ampReqGain": FLY_CHANGE_REQUESTED,
}
#: ``/entry/flyScan`` scalars: facility name -> configuration / baseline key
FLY_SCALARS = {
    "mca_clock_frequency": "flyscan_clock_frequency",
    "AR_pulses": "flyscan_num_pulses",
    "FS_ElapsedTime": "flyscan_elapsed_time",
    "FS_ScanTime": "terms_fs_scan_time",
    "FS_NumberOfPoints": "terms_fs_num_points",
    "AR_start": "terms_ar_start",
    "AR_Finish": "terms_finish",
    "AR_increment": "terms_min_step",
    "AR_MinStepTraj": "terms_min_step_traj",
    "StartOffset": "terms_start_offset",
}

# --------------------------------------------------------------------------- baseline
UPD_GAIN = "upd_autorange_ranges_range{r}_gain"
UPD_BKG = "upd_autorange_ranges_range{r}_background"
UPD_BKG_ERR = "upd_autorange_ranges_range{r}_background_error"
I0_GAIN = "amplifier_gains_I0"
I00_GAIN = "amplifier_gains_I00"
TRD_GAIN = "amplifier_gains_TRD"
ENERGY = "monochromator_energy"
WAVELENGTH = "monochromator_wavelength"
BEAM_CURRENT = "beam_current"
RANGES = range(UPD_RANGES)

#: ``/entry/metadata`` of fly scans: facility name -> baseline / configuration key
FLY_METADATA = {
    "AR_center": "terms_ar_center",
    "MR_center": "terms_mr_center",
    "ASR_center": "terms_asr_center",
    "MSR_center": "terms_msr_center",
    "detector_distance": "terms_sdd",
    "analyzer_distance": "terms_sad",
    "UPDsize": "terms_upd_size",
    "diode_dx": "terms_diode_dx",
    "diode_dy": "terms_diode_dy",
    "UATerm": "terms_ua_term",
    "DCM_energy": ENERGY,
    "DCM_wavelength": WAVELENGTH,
    "DCM_theta": "monochromator_theta",
    "SR_current": BEAM_CURRENT,
    "I0AmpGain": I0_GAIN,
    "I00AmpGain": I00_GAIN,
    "TRDAmpGain": TRD_GAIN,
    "upd_gainU": "upd_autorange_gain_up",
    "upd_gainD": "upd_autorange_gain_down",
    "uslit_h_gap": "usaxs_slit_h_size",
    "uslit_v_gap": "usaxs_slit_v_size",
    "uslit_h_center": "usaxs_slit_x",
    "uslit_v_center": "usaxs_slit_y",
    "guard_h_size": "guard_slit_h_size",
    "guard_v_size": "guard_slit_v_size",
    "ax": "a_stage_x",
    "ay": "a_stage_y",
    "dx": "d_stage_x",
    "dy": "d_stage_y",
    "mx": "m_stage_x",
    "my": "m_stage_y",
    "mr_enc": "m_stage_r",
    "sx": "s_stage_x",
    "sy": "s_stage_y",
    "saxs_x": "saxs_stage_x",
    "saxs_y": "saxs_stage_y",
    "saxs_z": "saxs_stage_z",
    "waxs_x": "waxs_stage_x",
    "trans_pin_aypos": "positions_ay_in",
    "trans_pin_counts": "terms_tr_pin_counts",
    "trans_pin_gain": "terms_tr_pin_gain",
    "trans_I0_counts": "terms_tr_I0_counts",
    "trans_I0_gain": "terms_tr_I0_gain",
    "trans_pin_time": "terms_tr_count_time",
    "measure_trans_pin": "terms_tr_measure",
    "ARenc_0": "a_stage_r",
    "mono_shtr_opened": "mono_shutter_state",
    **{f"upd_gain{r}": UPD_GAIN.format(r=r) for r in RANGES},
    **{f"upd_bkg{r}": UPD_BKG.format(r=r) for r in RANGES},
    **{f"upd_bkgErr{r}": UPD_BKG_ERR.format(r=r) for r in RANGES},
    "upd_bkg_err0": UPD_BKG_ERR.format(r=0),
    # the same values named for the amplifier, as the facility's saver also writes them
    # (the facility spells the range-0 error ``bkg_err0`` and the others ``bkgErr<r>``)
    **{f"{FLY_AMPLIFIER}_gain{r}": UPD_GAIN.format(r=r) for r in RANGES},
    **{f"{FLY_AMPLIFIER}_bkg{r}": UPD_BKG.format(r=r) for r in RANGES},
    **{f"{FLY_AMPLIFIER}_bkgErr{r}": UPD_BKG_ERR.format(r=r) for r in RANGES if r},
    f"{FLY_AMPLIFIER}_bkg_err0": UPD_BKG_ERR.format(r=0),
    **{f"upd_amp_change_mask_time{r}": f"terms_amp_block_time{r}" for r in RANGES},
}
#: ``/entry/flyScan`` values derived from the run: facility name -> fly-scan scalar it repeats
FLY_ALIASES = {"AR_count": "AR_pulses", "mca_channels_used": "AR_pulses"}
#: fly-scan amplifier code of ``/entry/flyScan/upd_flyScan_amplifier`` (1 = DDPCA300)
FLY_AMPLIFIER_CODE = 1

#: ``/entry/sample`` fields of the facility: name -> baseline / configuration key
SAMPLE_FIELDS = {
    "chemical_formula": "sample_data_chemical_formula",
    "concentration": "sample_data_concentration",
    "description": "sample_data_description",
    "scattering_length_density": "sample_data_scattering_length_density",
    "volume_fraction": "sample_data_volume_fraction",
    "temperature": "sample_data_temperature",
}
RUN_CYCLE = "user_data_run_cycle"
PROPOSAL = "user_data_proposal_id"

# --------------------------------------------------------------------------- step scan
STEP_AR = "a_stage_r"
STEP_I0 = "I0"
STEP_UPD = "UPD"
SCALER_TIME = "scaler_time"
UPD_RANGE = "upd_autorange_lurange"
#: the UPD amplifier's gain read after the count: of the range it moved to
UPD_GAIN_AFTER = "upd_autorange_gain"

#: ``/entry/data`` of step scans: facility column -> primary data key
STEP_COLUMNS = {
    "a_stage_r": STEP_AR,
    "a_stage_x": "a_stage_x",
    "d_stage_x": "d_stage_x",
    "I0": STEP_I0,
    "I00": "I00",
    "UPD": STEP_UPD,
    "TRD": "TRD",
    "scaler0_time": SCALER_TIME,
    "I0_USAXS": STEP_I0,
    "PD_USAXS": STEP_UPD,
    "upd_ratio": "upd_ratio",
}
#: derived per-point columns of step scans (gain of the range in use, constant I0 gain)
STEP_UPD_GAIN_COLUMN = "upd_autorange_controls_gain"
STEP_UPD_RANGE_COLUMN = "upd_autorange_controls_reqrange"
STEP_I0_GAIN_COLUMN = "I0_autorange_controls_gain"
#: derived per-point column of step scans: counting time in ticks of the scaler clock
STEP_SECONDS_COLUMN = "seconds"
SCALER_FREQ = "scaler_freq"

#: baseline aliases of step scans: facility name -> our baseline / configuration key
STEP_BASELINE = {
    "terms_USAXS_center_AR": "terms_ar_center",
    "terms_USAXS_SDD": "terms_sdd",
    "terms_USAXS_SAD": "terms_sad",
    "terms_USAXS_diode_upd_size": "terms_upd_size",
    "monochromator_dcm_wavelength": WAVELENGTH,
    "monochromator_dcm_energy": ENERGY,
    "scaler0_freq": SCALER_FREQ,
    "upd_autorange_controls_gainU": "upd_autorange_gain_up",
    "upd_autorange_controls_gainD": "upd_autorange_gain_down",
    "upd_autorange_controls_lurange": UPD_RANGE,
    "terms_USAXS_center_MR": "terms_mr_center",
    "terms_USAXS_diode_dx": "terms_diode_dx",
    "terms_USAXS_diode_dy": "terms_diode_dy",
    "terms_USAXS_finish": "terms_finish",
    "terms_USAXS_num_points": "terms_num_points",
    "terms_USAXS_start_offset": "terms_start_offset",
    "terms_USAXS_uaterm": "terms_ua_term",
    "terms_USAXS_usaxs_minstep": "terms_min_step",
    "terms_USAXS_usaxs_time": "terms_count_time",
    "terms_USAXS_transmission_measure": "terms_tr_measure",
    "terms_USAXS_transmission_ax": "terms_tr_ax_position",
    "terms_FlyScan_use_flyscan": "terms_use_flyscan",
    "terms_FlyScan_number_points": "terms_fs_num_points",
    "terms_FlyScan_scan_time": "terms_fs_scan_time",
    "monochromator_dcm_theta": "monochromator_theta",
    "waxsx": "waxs_stage_x",
    "user_data_sample_title": "sample_data_title",
    "user_data_sample_thickness": "sample_data_thickness",
    "terms_USAXS_transmission_diode_counts": "terms_tr_pin_counts",
    "terms_USAXS_transmission_diode_gain": "terms_tr_pin_gain",
    "terms_USAXS_transmission_I0_counts": "terms_tr_I0_counts",
    "terms_USAXS_transmission_I0_gain": "terms_tr_I0_gain",
    "terms_USAXS_transmission_count_time": "terms_tr_count_time",
    **{f"upd_autorange_controls_ranges_gain{r}_gain": UPD_GAIN.format(r=r) for r in RANGES},
    **{f"upd_autorange_controls_ranges_gain{r}_background": UPD_BKG.format(r=r) for r in RANGES},
    **{
        f"upd_autorange_controls_ranges_gain{r}_background_error": UPD_BKG_ERR.format(r=r)
        for r in RANGES
    },
}

#: ``/entry/instrument/slits`` of step scans: slit -> {facility name: baseline key}
STEP_SLITS = {
    "usaxs_slit": {
        "x": "usaxs_slit_x",
        "y": "usaxs_slit_y",
        "x_gap": "usaxs_slit_h_size",
        "y_gap": "usaxs_slit_v_size",
    },
    "guard_slit": {"x_gap": "guard_slit_h_size", "y_gap": "guard_slit_v_size"},
}

# --------------------------------------------------------------------------- SAXS / WAXS
AREA_DETECTORS = {PLAN_SAXS: "saxs_det", PLAN_WAXS: "waxs_det"}
#: per-camera prefix of the facility's ``/entry/Metadata`` geometry names
AREA_PREFIX = {PLAN_SAXS: "pin_ccd", PLAN_WAXS: "waxs_ccd"}
AREA_IMAGE = "{det}_image"
AREA_ACQUIRE_TIME = "{det}_cam_acquire_time"
AREA_MODEL = "{det}_cam_model"
AREA_MANUFACTURER = "{det}_cam_manufacturer"
AREA_DISTANCE = "{det}_geometry_distance"
AREA_PIXEL_X = "{det}_geometry_pixel_size_x"
AREA_PIXEL_Y = "{det}_geometry_pixel_size_y"
AREA_CENTER_X = "{det}_geometry_beam_center_x"
AREA_CENTER_Y = "{det}_geometry_beam_center_y"
AREA_I_SCALING = "{det}_geometry_i_scaling"
AREA_TILT_X = "{det}_geometry_tilt_x"
AREA_TILT_Y = "{det}_geometry_tilt_y"

#: ``/entry/Metadata`` of SAXS/WAXS: facility name -> key (``{det}``, ``{pre}`` filled in)
AREA_METADATA = {
    "I0_gain": I0_GAIN,
    "I00_gain": I00_GAIN,
    "TR_gain": TRD_GAIN,
    "SRcurrent": BEAM_CURRENT,
    "monoE": ENERGY,
    "wavelength": WAVELENGTH,
    "PresetTime": AREA_ACQUIRE_TIME,
    "SDD": AREA_DISTANCE,
    "I_scaling": AREA_I_SCALING,
    "{pre}_pixel_size_x": AREA_PIXEL_X,
    "{pre}_pixel_size_y": AREA_PIXEL_Y,
    "{pre}_center_x_pixel": AREA_CENTER_X,
    "{pre}_center_y_pixel": AREA_CENTER_Y,
    "{pre}_tilt_x": AREA_TILT_X,
    "{pre}_tilt_y": AREA_TILT_Y,
    "GuardslitHap": "guard_slit_h_size",
    "GuardslitVap": "guard_slit_v_size",
    "USAXSslitHap": "usaxs_slit_h_size",
    "USAXSslitVap": "usaxs_slit_v_size",
    "USAXSslitHpos": "usaxs_slit_x",
    "USAXSslitVpos": "usaxs_slit_y",
    "SAXS_X": "saxs_stage_x",
    "SAXS_Y": "saxs_stage_y",
    "SAXS_Z": "saxs_stage_z",
    "WAXS_X": "waxs_stage_x",
    "scaler_freq": "scaler_freq",
    "Model": AREA_MODEL,
    "Manufacturer": AREA_MANUFACTURER,
    "APS_run_cycle": "user_data_run_cycle",
    "GUPNumber": "user_data_proposal_id",
    "mr_enc": "m_stage_r",
    "m2rp": "m_stage_r2p",
    "mx": "m_stage_x",
    "my": "m_stage_y",
    "Sample_ChemicalFormula": "sample_data_chemical_formula",
    "Sample_Concentration": "sample_data_concentration",
    "Sample_Description": "sample_data_description",
    "Sample_ScatteringLengthDensity": "sample_data_scattering_length_density",
    "Sample_VolumeFraction": "sample_data_volume_fraction",
}
#: ``/entry/instrument/aperture`` of SAXS/WAXS (the USAXS slit): facility name -> key
AREA_APERTURE = {
    "hcenter": "usaxs_slit_x",
    "hsize": "usaxs_slit_h_size",
    "vcenter": "usaxs_slit_y",
    "vsize": "usaxs_slit_v_size",
}
#: SAXS/WAXS transmission values measured just before the exposure: start-document keys
#: (``plans.transmission``) with their source PVs in ``start["transmission_sources"]``
AREA_TRANSMISSION = ("Pin_TrPD", "Pin_TrPDgain", "Pin_TrI0", "Pin_TrI0gain", "Pin_TrTime")
#: ``/entry/Metadata`` sums over the frames of the primary stream: facility name -> data key
AREA_TOTALS = {"I0_cts": "I0", "I00_cts": "I00", "TR_cts": "TRD", "Exp_time": SCALER_TIME}
#: gated totals (counted while the detector acquires): the scaler is gated by the
#: exposure, so they are the same values: total -> its gated name
AREA_GATED = {"I0_cts": "I0_cts_gated", "TR_cts": "TR_cts_gated", "Exp_time": "Exp_time_gated"}
#: ``/entry/Metadata`` units written beside a value, as the facility does: name -> value
AREA_UNIT_NAMES = {"monoE_EGU": "monoE", "wavelength_EGU": "wavelength"}

# --------------------------------------------------------------------------- units
#: units of keys whose descriptor gives none (the quantity is known from the PV's role)
UNITS_FALLBACK = {
    "terms_ar_center": "deg",
    "terms_mr_center": "deg",
    "terms_asr_center": "deg",
    "terms_msr_center": "deg",
    "terms_diode_dx": "mm",
    "terms_diode_dy": "mm",
    "terms_start_offset": "deg",
    "terms_finish": "1/angstrom",
    "terms_ar_start": "deg",
    "terms_min_step": "deg",
    "terms_min_step_traj": "deg",
    "terms_count_time": "s",
    **{f"terms_amp_block_time{r}": "s" for r in RANGES},
    **{UPD_GAIN.format(r=r): "V/A" for r in RANGES},
    **{UPD_BKG.format(r=r): "counts/s" for r in RANGES},
    **{UPD_BKG_ERR.format(r=r): "counts/s" for r in RANGES},
    "upd_autorange_gain_up": "counts/s",
    "upd_autorange_gain_down": "counts/s",
    "upd_autorange_counts_per_volt": "counts/V",
    I0_GAIN: "V/A",
    I00_GAIN: "V/A",
    TRD_GAIN: "V/A",
    "flyscan_clock_frequency": "Hz",
    "scaler_freq": "Hz",
    SCALER_TIME: "s",
    "I0": "counts",
    "I00": "counts",
    "UPD": "counts",
    "TRD": "counts",
    "positions_ay_in": "mm",
    "sample_data_thickness": "mm",
    # the facility's units of the usxSample:* values
    "sample_data_concentration": "g/cm3",
    "sample_data_scattering_length_density": "cm/cm3",
    "sample_data_temperature": "C",
}
for _det in AREA_DETECTORS.values():
    UNITS_FALLBACK[AREA_ACQUIRE_TIME.format(det=_det)] = "s"
    UNITS_FALLBACK[AREA_CENTER_X.format(det=_det)] = "pixel"
    UNITS_FALLBACK[AREA_CENTER_Y.format(det=_det)] = "pixel"
    UNITS_FALLBACK[AREA_IMAGE.format(det=_det)] = "counts"
    UNITS_FALLBACK[AREA_TILT_X.format(det=_det)] = "deg"
    UNITS_FALLBACK[AREA_TILT_Y.format(det=_det)] = "deg"

#: descriptor unit strings rewritten for NeXus (``A`` would read as ampere)
UNITS_RENAME = {"A": "angstrom", "Angstrom": "angstrom", "sec": "s"}
