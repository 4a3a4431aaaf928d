"""Forked workers (nlp.pipe(n_process=...)) run torch on one thread instead of deadlocking."""
import os
import select

import pytest
import torch

import spacy_concner  # noqa: F401  installs the after-fork hook


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_child_forked_after_a_multithreaded_op_finishes_its_own_op_on_one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        x = torch.randn(256, 256)
        (x @ x).sum()  # the parent's thread pool now exists: GNU OpenMP will not survive the fork
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report its thread count after its own parallel op, then leave
            try:
                torch.nn.functional.layer_norm(torch.randn(64, 4096), (4096,))
                os.write(write, str(torch.get_num_threads()).encode())
            finally:
                os._exit(0)
        os.close(write)
        ready, _, _ = select.select([read], [], [], 60)
        if not ready:
            os.kill(pid, 9)
        os.waitpid(pid, 0)
        assert ready, "the forked child hung in torch's thread pool"
        assert os.read(read, 16) == b"1"
    finally:
        torch.set_num_threads(threads)
