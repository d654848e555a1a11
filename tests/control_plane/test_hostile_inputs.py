"""Inputs measured as AWS measures them, and bad ones refused without harm: a 300 MB zip bomb, environment
variables (UTF-8 JSON, 4 KB, no NUL), and the lab's files on disk (removed at close, and after a killed kernel)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap

import pytest

import lambdalab as ll
from lambdalab.sandbox import scratch


def test_a_300_mb_zip_bomb_is_refused_without_being_held_in_memory():
    """Measured in a fresh process: its peak memory (VmHWM) grows by far less than the bomb's size."""
    script = textwrap.dedent("""
        import io, zipfile
        import lambdalab as ll

        def peak_mib():
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("lambda_function.py", "def handler(e, c):\\n    return 1\\n")
            with archive.open("zeros.bin", "w") as member:
                for _ in range(300):
                    member.write(bytes(1024 * 1024))
        bomb = buffer.getvalue()
        lab = ll.Lab()
        before = peak_mib()
        try:
            lab.client("lambda").create_function(FunctionName="bomb", Runtime="python3.12", Role="arn:aws:iam::"
                "123456789012:role/r", Handler="lambda_function.handler", Code={"ZipFile": bomb})
            print("accepted")
        except ll.ClientError as error:
            print(error.response["Error"]["Code"], "|", error.response["Error"]["Message"])
        print(len(bomb), round(peak_mib() - before))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    refusal, numbers = out.stdout.strip().splitlines()[-2:]
    assert refusal == "InvalidParameterValueException | Unzipped size must be smaller than 262144000 bytes"
    zipped, grown = map(int, numbers.split())
    assert zipped < 1024 * 1024                 # a 300 MB member that zips to a few hundred KB
    assert grown < 50, f"peak memory grew by {grown} MiB"


def _create(lab, name, variables):
    return lab.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=f"arn:aws:iam::{lab.account_id}:role/r",
        Handler="lambda_function.handler", Code={"ZipFile": ll.lab.make_zip({"lambda_function.py": "x = 1\n"})},
        Environment={"Variables": variables})


def test_environment_variables_are_measured_as_utf8_json():
    lab = ll.Lab()
    # 2,000 "é" are 4,000 bytes in UTF-8 (fits in 4 KB with the key), but 12,000 as \\u00e9 escapes
    assert _create(lab, "fits", {"GREETING": "é" * 2000})["Environment"]["Variables"]["GREETING"] == "é" * 2000
    with pytest.raises(ll.ClientError, match="exceeded the 4KB limit"):
        _create(lab, "too-big", {"GREETING": "é" * 2100})


def test_a_nul_in_an_environment_variable_is_refused_and_changes_nothing():
    lab = ll.Lab()
    with pytest.raises(ll.ClientError) as caught:
        _create(lab, "nul", {"TOKEN": "abc\0def"})
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "NUL" in caught.value.response["Error"]["Message"]
    with pytest.raises(ll.ClientError, match="ResourceNotFoundException|Function not found"):
        lab.client("lambda").get_function(FunctionName="nul")


def test_the_labs_files_are_removed_at_close():
    lab = ll.Lab()
    lab.create_function("f", "def handler(e, c):\n    open('/tmp/x', 'w').write('1')\n    return c.tmp_dir\n")
    tmp_dir = __import__("json").loads(lab.client("lambda").invoke(FunctionName="f")["Payload"].read())
    root = scratch.lab_directory(lab)
    assert tmp_dir.startswith(root + os.sep) and os.path.isfile(os.path.join(tmp_dir, "x"))
    lab.close()
    assert not os.path.exists(root)


def test_directories_of_a_killed_kernel_are_removed_by_the_next_lab():
    with tempfile.TemporaryDirectory() as root:
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()                                          # a pid that is gone now
        stale = os.path.join(root, f"lambdalab-{dead.pid}-12345-1")
        mine = os.path.join(root, f"lambdalab-{os.getpid()}-{scratch._start_time(os.getpid())}-7")
        reused = os.path.join(root, f"lambdalab-{os.getpid()}-1-3")     # our pid, another process's start
        other = os.path.join(root, "unrelated")
        for path in (stale, mine, reused, other):
            os.makedirs(os.path.join(path, "tmp-e-1"))
        removed = scratch.remove_stale(root)
        assert sorted(removed) == sorted([os.path.basename(stale), os.path.basename(reused)])
        assert os.path.isdir(mine) and os.path.isdir(other)
