"""Every device the PV map builds is a typed attribute of the instrument, and only those."""

from __future__ import annotations

import pytest

from usaxs_bluesky.instrument import Instrument, _Device, build_instrument


def typed_attributes() -> dict[str, type]:
    return {k: v.kind for k, v in vars(Instrument).items() if isinstance(v, _Device)}


def test_every_built_device_is_a_typed_attribute_of_its_type():
    inst = build_instrument()
    attributes = typed_attributes()
    assert set(attributes) == set(inst.devices)
    for name, kind in attributes.items():
        device = getattr(inst, name)
        assert device is inst.devices[name]
        assert isinstance(device, kind), (name, type(device), kind)


def test_a_device_the_map_does_not_build_is_an_attribute_error():
    inst = Instrument(config={})
    with pytest.raises(AttributeError, match="no device 'scaler'"):
        _ = inst.scaler
    assert not hasattr(inst, "waxs_det")
    with pytest.raises(AttributeError):
        _ = inst.not_a_device
