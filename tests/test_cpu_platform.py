"""The CPU code path recorded next to the published corpus (redundancy.cpu_platform)."""

import platform

from redundancy.cpu_platform import corpus_platform, cpu_vendor, vector_capability


def test_the_vendor_is_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n")
    assert cpu_vendor(cpuinfo) == "AuthenticAMD"


def test_without_cpuinfo_the_vendor_is_the_machine_architecture(tmp_path):
    assert cpu_vendor(tmp_path / "missing") == (platform.machine() or "unknown")
    (tmp_path / "empty").write_text("processor\t: 0\n")
    assert cpu_vendor(tmp_path / "empty") == (platform.machine() or "unknown")


def test_the_platform_joins_vendor_and_the_vector_width_torch_dispatches_to():
    import torch

    assert vector_capability() == torch.backends.cpu.get_cpu_capability()
    assert corpus_platform() == f"{cpu_vendor()}/{vector_capability()}"
