"""Instrument terms shared with EPICS: calibrated centres, distances, fly-scan and mode settings."""

from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal


class UsaxsTerms(Device):
    """``usxLAX:USAXS:*`` values that calibrate a USAXS measurement (units in docstrings).

    Angles in degrees, distances and sizes in mm, times in seconds.
    ``amp_block_time<r>`` is the dead time after a change to UPD range r
    (served as ``FS_AmpR<r+1>BlockTime``: the PVs count ranges from 1).
    """

    ar_center = Cpt(EpicsSignal, "ARcenter", kind="config")
    mr_center = Cpt(EpicsSignal, "MRcenter", kind="config")
    asr_center = Cpt(EpicsSignal, "ASRcenter", kind="config")
    msr_center = Cpt(EpicsSignal, "MSRcenter", kind="config")
    sdd = Cpt(EpicsSignal, "SDD", kind="config")
    sad = Cpt(EpicsSignal, "SAD", kind="config")
    upd_size = Cpt(EpicsSignal, "UPDsize", kind="config")
    diode_dx = Cpt(EpicsSignal, "Diode_dx", kind="config")
    diode_dy = Cpt(EpicsSignal, "Diode_dy", kind="config")
    start_offset = Cpt(EpicsSignal, "StartOffset", kind="config")
    finish = Cpt(EpicsSignal, "Finish", kind="config")
    ar_start = Cpt(EpicsSignal, "ARstart", kind="config")
    min_step = Cpt(EpicsSignal, "MinStep", kind="config")
    min_step_traj = Cpt(EpicsSignal, "MinStepTraj", kind="config")
    ua_term = Cpt(EpicsSignal, "UATerm", kind="config")
    num_points = Cpt(EpicsSignal, "NumPoints", kind="config")
    count_time = Cpt(EpicsSignal, "CountTime", kind="config")
    fs_num_points = Cpt(EpicsSignal, "FS_NumberOfPoints", kind="config")
    fs_scan_time = Cpt(EpicsSignal, "FS_ScanTime", kind="config")
    use_flyscan = Cpt(EpicsSignal, "UseFlyscan", kind="config")
    amp_block_time0 = Cpt(EpicsSignal, "FS_AmpR1BlockTime", kind="config")
    amp_block_time1 = Cpt(EpicsSignal, "FS_AmpR2BlockTime", kind="config")
    amp_block_time2 = Cpt(EpicsSignal, "FS_AmpR3BlockTime", kind="config")
    amp_block_time3 = Cpt(EpicsSignal, "FS_AmpR4BlockTime", kind="config")
    amp_block_time4 = Cpt(EpicsSignal, "FS_AmpR5BlockTime", kind="config")
    tr_measure = Cpt(EpicsSignal, "TR_MeasurePinTrans", kind="config")
    tr_ax_position = Cpt(EpicsSignal, "TR_AxPosition", kind="config")
    tr_count_time = Cpt(EpicsSignal, "TR_MeasurementTime", kind="config")
    tr_pin_counts = Cpt(EpicsSignal, "TR_pinCounts", kind="config")
    tr_pin_gain = Cpt(EpicsSignal, "TR_pinGain", kind="config")
    tr_I0_counts = Cpt(EpicsSignal, "TR_I0Counts", kind="config")
    tr_I0_gain = Cpt(EpicsSignal, "TR_I0Gain", kind="config")


class Positions(Device):
    """In/out positions (mm) of the stages that put each camera into the beam (``usxLAX:``)."""

    saxs_x_in = Cpt(EpicsSignal, "SAXS_x_in", kind="config")
    saxs_y_in = Cpt(EpicsSignal, "SAXS_y_in", kind="config")
    saxs_z_in = Cpt(EpicsSignal, "SAXS_z_in", kind="config")
    saxs_y_out = Cpt(EpicsSignal, "SAXS_y_out", kind="config")
    saxs_z_out = Cpt(EpicsSignal, "SAXS_z_out", kind="config")
    ax_in = Cpt(EpicsSignal, "ax_in", kind="config")
    ax_out = Cpt(EpicsSignal, "ax_out", kind="config")
    ay_in = Cpt(EpicsSignal, "ay_in", kind="config")
    waxs_x_in = Cpt(EpicsSignal, "WAXS_x_in", kind="config")
    waxs_x_out = Cpt(EpicsSignal, "WAXS_x_out", kind="config")
    diode_dx_out = Cpt(EpicsSignal, "USAXS:Diode_dx_out", kind="config")
