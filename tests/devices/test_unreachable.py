"""An instrument whose IOC is not there: one error naming every missing PV, in bounded time."""

import pytest

from usaxs_bluesky.instrument import (
    InstrumentConnectionError,
    build_instrument,
    connect_instrument,
    load_config,
)


@pytest.mark.timeout(60)
def test_unreachable_ioc_names_all_missing_pvs():
    config = load_config()
    config["pv_prefix"] = "nowhere:"
    inst = build_instrument(config)
    with pytest.raises(InstrumentConnectionError) as err:
        connect_instrument(inst, timeout=2.0)
    message = str(err.value)
    assert "within 2 s" in message
    for pv in ("nowhere:usxAERO:m6", "nowhere:usxLAX:vsc:c0", "nowhere:12ida2:EnCalc"):
        assert pv in message
    assert set(err.value.missing) >= {"a_stage", "scaler", "monochromator", "saxs_det"}
