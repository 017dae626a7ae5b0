"""The CPU code path recorded next to the published corpus (redundancy.cpu_platform)."""

import platform

from redundancy.cpu_platform import corpus_platform, cpu_vendor, mkl_branch, same_code_path, vector_capability


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
    branch = mkl_branch()
    assert branch is None or branch > 0  # MKL's branches are small positive codes
    assert corpus_platform() == f"{cpu_vendor()}/{vector_capability()}" + (f"/mkl{branch}" if branch else "")


def test_mkl_s_branch_is_read_where_torch_links_mkl():
    import torch

    assert (mkl_branch() is not None) == (torch.backends.mkl.is_available() and platform.system() == "Linux")


def test_a_path_recorded_without_mkl_s_branch_covers_every_branch_of_its_vendor_and_width():
    assert same_code_path("GenuineIntel/AVX512/mkl14", "GenuineIntel/AVX512/mkl14")
    assert not same_code_path("GenuineIntel/AVX512/mkl14", "GenuineIntel/AVX512/mkl12")  # another AVX-512 generation
    assert same_code_path("GenuineIntel/AVX512", "GenuineIntel/AVX512/mkl12")  # recorded before the branch was kept
    assert not same_code_path("GenuineIntel/AVX512", "GenuineIntel/AVX512_BF16/mkl14")
    assert not same_code_path("AuthenticAMD/AVX2", "GenuineIntel/AVX2/mkl7")
    assert not same_code_path(None, "GenuineIntel/AVX2/mkl7")
    assert same_code_path(corpus_platform())
