"""The speed benchmark's training case does what ``spacy train`` does each step, callbacks included."""
import gc

from benchmarks import speed_cases


def test_ours_training_case_calls_the_configs_before_update_on_spacy_trains_global_step(tiny_bert, monkeypatch):
    """configs' release_memory.v1 (every = 10) must run inside the timed step, on a step count that goes
    on across epochs: 3 batches x (1 warm-up + 3 timed epochs) = steps 0..11, so trims at steps 0 and 10
    (a count restarting each epoch would trim 4 times, a missing call 0 times)."""
    from spacy_concner import heap as memory

    calls = []
    monkeypatch.setattr(memory, "malloc_trim", lambda: (lambda pad: calls.append(pad) or 1))
    settings = speed_cases.Settings(encoder=str(tiny_bert), batch_size=4, n_batches=3, min_len=1, max_len=100,
                                    warmup=1, reps=3, threads=1, phases=False, data=str(speed_cases.SAMPLE_EN))
    case = speed_cases.Case("ours_train_ce", "ours", "train", config="baseline_src_trans.cfg")
    try:
        result = speed_cases.run_case(settings, case)
    finally:
        gc.unfreeze()
    assert result.steps == 3 and len(result.times) == 3
    assert calls == [0, 0]
