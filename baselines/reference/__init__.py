"""What the reference methods (`plain_reference`, `synthesizeme_reference*`) share: prbench's pairs in the
SynthesizeMe authors' data format (`data`), their programs' state and verdicts (`programs`), and a
stand-in server that answers in DSPy's format (`stand_in`, for tests and scripts/bench_reference.py).
Needs the `reference` extra (synthesizeme==0.0.1, dspy==2.6.12)."""
